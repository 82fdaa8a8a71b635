import { describe, expect, it } from 'vitest';
import { type MailMessage, startMailSink } from './mail-sink.ts';

describe('console mail sink', () => {
  it('accepts the mail-API request, prints it and lists it', async () => {
    const printed: MailMessage[] = [];
    const sink = await startMailSink({ apiKey: 'key-123', print: (m) => printed.push(m) });
    try {
      const response = await fetch(sink.endpoint, {
        method: 'POST',
        headers: { authorization: 'Bearer key-123', 'content-type': 'application/json' },
        body: JSON.stringify({
          from: 'login@airlock.local',
          to: 'ada@example.com',
          subject: 'Your code',
          text: 'Code: 123456',
        }),
      });
      expect(response.status).toBe(200);
      expect(printed.map((m) => m.text)).toEqual(['Code: 123456']);
      const listed = (await (await fetch(`${sink.url}/messages`)).json()) as MailMessage[];
      expect(listed).toMatchObject([{ to: ['ada@example.com'], subject: 'Your code' }]);
    } finally {
      await sink.close();
    }
  });

  it('refuses a wrong key and an incomplete message', async () => {
    const sink = await startMailSink({ apiKey: 'key-123' });
    try {
      const wrongKey = await fetch(sink.endpoint, {
        method: 'POST',
        headers: { authorization: 'Bearer nope' },
        body: '{}',
      });
      expect(wrongKey.status).toBe(401);
      const incomplete = await fetch(sink.endpoint, {
        method: 'POST',
        headers: { authorization: 'Bearer key-123' },
        body: '{"to":"x@y.z"}',
      });
      expect(incomplete.status).toBe(422);
      expect(sink.messages()).toEqual([]);
    } finally {
      await sink.close();
    }
  });
});
