import { describe, expect, it } from 'vitest';
import { type AnthropicScript, bashCall, startAnthropicStandIn } from './anthropic.ts';

// The Anthropic stand-in speaks the Messages API as Anthropic documents it:
// the SSE event sequence with text and tool-input deltas, stop reasons and
// cumulative usage, tool results read back, count_tokens and models; one key,
// Anthropic's own 401 for any other, and every credential it saw recorded.

const KEY = 'sk-ant-test-real-key-0123456789';
const headers = { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };

async function withStandIn(script: AnthropicScript | undefined, run: (url: string) => Promise<void>) {
  const stand = await startAnthropicStandIn({ apiKey: KEY, ...(script ? { script } : {}) });
  try {
    await run(stand.url);
  } finally {
    await stand.close();
  }
}

function sse(text: string): Array<{ event: string; data: Record<string, unknown> }> {
  return text
    .trim()
    .split('\n\n')
    .map((block) => ({
      event: /^event: (.+)$/m.exec(block)?.[1] ?? '',
      data: JSON.parse(/^data: (.+)$/m.exec(block)?.[1] ?? '{}') as Record<string, unknown>,
    }));
}

const messages = [{ role: 'user', content: 'hi' }];

describe('Anthropic stand-in', () => {
  it('refuses the placeholder and a missing key with Anthropic’s 401, and records what it saw', async () => {
    const stand = await startAnthropicStandIn({ apiKey: KEY });
    try {
      const wrong = await fetch(`${stand.url}/v1/messages`, {
        method: 'POST',
        headers: { ...headers, 'x-api-key': 'airlock-brokered' },
        body: JSON.stringify({ model: 'm', max_tokens: 10, messages }),
      });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('request-id')).toMatch(/^req_/);
      expect(await wrong.json()).toMatchObject({
        type: 'error',
        error: { type: 'authentication_error', message: 'invalid x-api-key' },
      });
      expect((await fetch(`${stand.url}/v1/models`)).status).toBe(401);
      const bearer = await fetch(`${stand.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(bearer.status).toBe(200);
      expect(stand.requests.map((r) => [r.path, r.credential, r.authorized])).toEqual([
        ['/v1/messages', 'airlock-brokered', false],
        ['/v1/models', undefined, false],
        ['/v1/models', KEY, true],
      ]);
    } finally {
      await stand.close();
    }
  });

  it('streams a text answer in the documented event order with cumulative usage', async () => {
    await withStandIn(
      () => [{ kind: 'text', text: 'Hello there, this is a longer reply.' }],
      async (url) => {
        const response = await fetch(`${url}/v1/messages?beta=true`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ model: 'claude-x', max_tokens: 100, stream: true, messages }),
        });
        expect(response.headers.get('content-type')).toContain('text/event-stream');
        const events = sse(await response.text());
        expect(events.map((e) => e.event)).toEqual([
          'message_start',
          'content_block_start',
          'ping',
          'content_block_delta',
          'content_block_delta',
          'content_block_delta',
          'content_block_stop',
          'message_delta',
          'message_stop',
        ]);
        for (const e of events) expect(e.data.type).toBe(e.event);
        expect(events[0]?.data.message).toMatchObject({
          type: 'message',
          role: 'assistant',
          model: 'claude-x',
          content: [],
          stop_reason: null,
          usage: { output_tokens: 1 },
        });
        const text = events
          .filter((e) => e.event === 'content_block_delta')
          .map((e) => (e.data.delta as { type: string; text: string }).text)
          .join('');
        expect(text).toBe('Hello there, this is a longer reply.');
        expect(events[7]?.data).toMatchObject({
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: 4 },
        });
      },
    );
  });

  it('streams a tool_use block as input_json_delta fragments, then reads the tool_result back', async () => {
    const script: AnthropicScript = (turn) =>
      turn.toolResults.size === 0
        ? [{ kind: 'text', text: 'Running it.' }, bashCall(turn, 'echo hi')]
        : [{ kind: 'text', text: `saw ${[...turn.toolResults.values()].join()}` }];
    await withStandIn(script, async (url) => {
      const tools = [{ name: 'Bash', description: 'run', input_schema: { type: 'object' } }];
      const events = sse(
        await (
          await fetch(`${url}/v1/messages`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ model: 'm', max_tokens: 100, stream: true, tools, messages }),
          })
        ).text(),
      );
      const start = events.find((e) => e.event === 'content_block_start' && e.data.index === 1);
      const block = start?.data.content_block as { type: string; id: string; name: string; input: unknown };
      expect(block).toMatchObject({ type: 'tool_use', name: 'Bash', input: {} });
      expect(block.id).toMatch(/^toolu_/);
      const fragments = events
        .filter((e) => e.event === 'content_block_delta' && e.data.index === 1)
        .map((e) => e.data.delta as { type: string; partial_json: string });
      expect(fragments[0]).toEqual({ type: 'input_json_delta', partial_json: '' });
      expect(fragments.every((f) => f.type === 'input_json_delta')).toBe(true);
      expect(JSON.parse(fragments.map((f) => f.partial_json).join(''))).toEqual({
        command: 'echo hi',
        description: 'Run the scripted command',
      });
      expect(events.find((e) => e.event === 'message_delta')?.data.delta).toMatchObject({
        stop_reason: 'tool_use',
      });
      const next = await fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          model: 'm',
          max_tokens: 100,
          tools,
          messages: [
            ...messages,
            { role: 'assistant', content: [{ type: 'tool_use', id: block.id, name: 'Bash', input: {} }] },
            {
              role: 'user',
              content: [
                { type: 'tool_result', tool_use_id: block.id, content: [{ type: 'text', text: 'hi\n' }] },
              ],
            },
          ],
        }),
      });
      expect(await next.json()).toMatchObject({
        type: 'message',
        stop_reason: 'end_turn',
        content: [{ type: 'text', text: 'saw hi\n' }],
      });
    });
  });

  it('counts tokens, lists models, answers Claude Code’s settings and policy calls, and 400s bad bodies', async () => {
    await withStandIn(undefined, async (url) => {
      const count = await fetch(`${url}/v1/messages/count_tokens`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: 'm', messages }),
      });
      expect(((await count.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
      const models = (await (await fetch(`${url}/v1/models`, { headers })).json()) as {
        data: { type: string; id: string }[];
        has_more: boolean;
      };
      expect(models.has_more).toBe(false);
      expect(models.data[0]).toMatchObject({ type: 'model' });
      expect((await fetch(`${url}/v1/models/${models.data[0]?.id}`, { headers })).status).toBe(200);
      const settings = await fetch(`${url}/api/claude_code/settings`, { headers });
      expect(settings.status).toBe(404);
      expect(settings.headers.get('request-id')).toMatch(/^req_/);
      expect(await (await fetch(`${url}/api/claude_code/policy_limits`, { headers })).json()).toEqual({
        restrictions: {},
      });
      const bad = await fetch(`${url}/v1/messages`, { method: 'POST', headers, body: 'nope' });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    });
  });
});
