import { describe, expect, it } from 'vitest';
import { createLogger, redact } from './log.ts';

// Keys that arrive from outside (a parsed body in a log field) are data: a
// `__proto__` key is logged as a key, never turned into a prototype (ADR 0100).

describe('log redaction of keys from outside', () => {
  it('keeps a __proto__ key as a logged, redacted key instead of turning it into a prototype', () => {
    const parsed = JSON.parse('{"__proto__": {"token": "secret-value", "note": "kept"}, "ok": 1}') as object;
    const lines: string[] = [];
    createLogger({}, (line) => lines.push(line)).info('parsed body', { body: parsed });
    const logged = JSON.parse(lines[0] ?? '{}') as { body: Record<string, unknown> };
    expect(Object.getOwnPropertyNames(logged.body).sort()).toEqual(['__proto__', 'ok']);
    expect(JSON.stringify(logged.body)).toBe('{"__proto__":{"token":"[redacted]","note":"kept"},"ok":1}');
    expect(lines[0]).not.toContain('secret-value');
    expect(Object.getPrototypeOf(redact(parsed))).toBe(Object.prototype);
  });
});
