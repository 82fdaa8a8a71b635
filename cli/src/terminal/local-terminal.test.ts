import { describe, expect, it } from 'vitest';
import { AltScreenTracker, parseDetachKey, restoreSequence, splitAtDetach } from './local-terminal.ts';

describe('detach key', () => {
  it('parses ctrl-<key> into its control byte', () => {
    expect(parseDetachKey('ctrl-]')).toEqual({ byte: 0x1d, label: 'Ctrl-]' });
    expect(parseDetachKey('CTRL-q')).toEqual({ byte: 0x11, label: 'Ctrl-Q' });
    expect(parseDetachKey('ctrl-\\').byte).toBe(0x1c);
    expect(() => parseDetachKey('q')).toThrow(/expected ctrl-<key>/);
    expect(() => parseDetachKey('ctrl-1')).toThrow(/not a control key/);
  });

  it('splits input at the key: what precedes it is sent, the key itself never', () => {
    const split = splitAtDetach(Buffer.from('ls\r\x1dmore'), 0x1d);
    expect(split).toEqual({ forward: Buffer.from('ls\r'), detach: true });
    expect(splitAtDetach(Buffer.from('ls'), 0x1d)).toEqual({ forward: Buffer.from('ls'), detach: false });
  });
});

describe('alternate screen tracking', () => {
  it('follows enter and leave, also when a sequence is split across chunks', () => {
    const t = new AltScreenTracker();
    t.feed(Buffer.from('hello \x1b[?10'));
    expect(t.active).toBe(false);
    t.feed(Buffer.from('49h full screen'));
    expect(t.active).toBe(true);
    t.feed(Buffer.from('bye \x1b[?1049l'));
    expect(t.active).toBe(false);
    t.feed(Buffer.from('\x1b[?47h'));
    expect(t.active).toBe(true);
    expect(restoreSequence(t.active)).toContain('\x1b[?1049l');
    t.reset();
    expect(restoreSequence(t.active)).not.toContain('\x1b[?1049l');
    expect(restoreSequence(false)).toContain('\x1b[?25h');
  });
});
