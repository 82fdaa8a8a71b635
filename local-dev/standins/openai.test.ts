import { describe, expect, it } from 'vitest';
import { type Script, shellCall, startOpenAiStandIn } from './openai.ts';

const KEY = 'sk-test-real-key-0123456789';
const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

async function withStandIn(script: Script | undefined, run: (url: string) => Promise<void>) {
  const stand = await startOpenAiStandIn({ apiKey: KEY, ...(script ? { script } : {}) });
  try {
    await run(stand.url);
  } finally {
    await stand.close();
  }
}

function sseEvents(text: string): Array<{ event: string; data: Record<string, unknown> }> {
  return text
    .trim()
    .split('\n\n')
    .map((block) => {
      const event = /^event: (.+)$/m.exec(block)?.[1] ?? '';
      const data = JSON.parse(/^data: (.+)$/m.exec(block)?.[1] ?? '{}') as Record<string, unknown>;
      return { event, data };
    });
}

describe('OpenAI stand-in', () => {
  it('rejects a placeholder key with OpenAI’s 401 body, and a missing one', async () => {
    await withStandIn(undefined, async (url) => {
      const wrong = await fetch(`${url}/v1/models`, {
        headers: { authorization: 'Bearer airlock-brokered' },
      });
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toMatchObject({
        error: { type: 'invalid_request_error', code: 'invalid_api_key' },
      });
      const none = await fetch(`${url}/v1/models`);
      expect(none.status).toBe(401);
      expect(((await none.json()) as { error: { message: string } }).error.message).toMatch(
        /didn't provide an API key/,
      );
    });
  });

  it('streams a Responses API answer in the event order clients expect', async () => {
    await withStandIn(
      () => [{ kind: 'message', text: 'Hello there, this is a longer reply.' }],
      async (url) => {
        const response = await fetch(`${url}/v1/responses`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ model: 'gpt-x', input: [{ role: 'user', content: 'hi' }], stream: true }),
        });
        expect(response.headers.get('content-type')).toBe('text/event-stream');
        const events = sseEvents(await response.text());
        expect(events.map((e) => e.event)).toEqual([
          'response.created',
          'response.in_progress',
          'response.output_item.added',
          'response.content_part.added',
          'response.output_text.delta',
          'response.output_text.delta',
          'response.output_text.delta',
          'response.output_text.done',
          'response.content_part.done',
          'response.output_item.done',
          'response.completed',
        ]);
        expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
        const completed = events.at(-1)?.data.response as {
          status: string;
          output: Array<{ content: Array<{ text: string }> }>;
        };
        expect(completed.status).toBe('completed');
        expect(completed.output[0]?.content[0]?.text).toBe('Hello there, this is a longer reply.');
      },
    );
  });

  it('scripts a tool call, then sees its output in the next turn', async () => {
    const script: Script = (turn) =>
      turn.toolOutputs.size === 0
        ? [shellCall(turn, 'echo hi')]
        : [{ kind: 'message', text: `saw ${[...turn.toolOutputs.values()].join()}` }];
    await withStandIn(script, async (url) => {
      const tools = [{ type: 'function', name: 'exec_command', parameters: {} }];
      const first = (await (
        await fetch(`${url}/v1/responses`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ model: 'm', input: [], tools }),
        })
      ).json()) as { output: Array<{ type: string; name: string; arguments: string; call_id: string }> };
      expect(first.output[0]).toMatchObject({ type: 'function_call', name: 'exec_command' });
      expect(JSON.parse(first.output[0]?.arguments ?? '')).toEqual({ cmd: 'echo hi' });
      const input = [{ type: 'function_call_output', call_id: first.output[0]?.call_id, output: 'hi\n' }];
      const second = (await (
        await fetch(`${url}/v1/responses`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ model: 'm', input, tools }),
        })
      ).json()) as { output: Array<{ content: Array<{ text: string }> }> };
      expect(second.output[0]?.content[0]?.text).toBe('saw hi\n');
    });
  });

  it('drives Codex code mode: tools offered as additional_tools, a streamed custom exec call, its output back', async () => {
    const script: Script = (turn) =>
      turn.toolOutputs.size === 0
        ? [shellCall(turn, 'echo hi')]
        : [{ kind: 'message', text: `saw ${[...turn.toolOutputs.values()].join()}` }];
    await withStandIn(script, async (url) => {
      // What Codex sends for its default model: no `tools`, a namespace of tools as an input item.
      const offered = {
        type: 'additional_tools',
        role: 'developer',
        tools: [
          {
            type: 'namespace',
            name: 'functions',
            tools: [
              { type: 'custom', name: 'exec', format: { type: 'grammar' } },
              { type: 'function', name: 'wait', parameters: {} },
            ],
          },
        ],
      };
      const streamed = await (
        await fetch(`${url}/v1/responses`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ model: 'm', input: [offered], stream: true }),
        })
      ).text();
      const events = sseEvents(streamed);
      expect(events.map((e) => e.event)).toEqual([
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.custom_tool_call_input.delta',
        'response.custom_tool_call_input.done',
        'response.output_item.done',
        'response.completed',
      ]);
      const call = events[5]?.data.item as { type: string; name: string; input: string; call_id: string };
      expect(call).toMatchObject({ type: 'custom_tool_call', name: 'exec' });
      expect(call.input).toContain('tools.exec_command({ cmd: "echo hi"');
      const input = [
        offered,
        {
          type: 'custom_tool_call_output',
          call_id: call.call_id,
          output: [{ type: 'input_text', text: 'hi' }],
        },
      ];
      const second = (await (
        await fetch(`${url}/v1/responses`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ model: 'm', input }),
        })
      ).json()) as { output: Array<{ content: Array<{ text: string }> }> };
      expect(second.output[0]?.content[0]?.text).toBe('saw hi');
    });
  });

  it('answers Chat Completions, plain and streamed with tool calls', async () => {
    const script: Script = (turn) =>
      turn.index === 0 ? [{ kind: 'message', text: 'plain answer' }] : [shellCall(turn, 'ls')];
    await withStandIn(script, async (url) => {
      const plain = (await (
        await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ model: 'm', messages: [] }),
        })
      ).json()) as {
        object: string;
        choices: Array<{ message: { content: string }; finish_reason: string }>;
      };
      expect(plain).toMatchObject({
        object: 'chat.completion',
        choices: [{ message: { content: 'plain answer' }, finish_reason: 'stop' }],
      });
      const tools = [{ type: 'function', function: { name: 'shell' } }];
      const streamed = await (
        await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ model: 'm', messages: [], tools, stream: true }),
        })
      ).text();
      const chunks = streamed.trim().split('\n\n');
      expect(chunks.at(-1)).toBe('data: [DONE]');
      const finish = JSON.parse(chunks.at(-2)?.slice(6) ?? '{}') as {
        choices: Array<{ finish_reason: string }>;
      };
      expect(finish.choices[0]?.finish_reason).toBe('tool_calls');
      expect(streamed).toContain('"name":"shell"');
    });
  });

  it('answers 400 in OpenAI’s shape for a body that is not JSON', async () => {
    await withStandIn(undefined, async (url) => {
      const response = await fetch(`${url}/v1/responses`, { method: 'POST', headers: auth, body: 'nope' });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
    });
  });
});
