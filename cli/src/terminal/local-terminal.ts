import { CliError } from '../output.ts';

// What the local terminal needs around a remote one: the detach key, and a
// way to leave the local terminal as it was whatever the remote program
// switched on (alternate screen, mouse reporting, hidden cursor, …).

/** `ctrl-]` (the default), `ctrl-q`, `ctrl-\`: the byte the key sends. */
export function parseDetachKey(spec: string): { byte: number; label: string } {
  const match = /^ctrl-(.)$/i.exec(spec.trim());
  const key = match?.[1];
  if (key === undefined)
    throw new CliError(`--detach-key: expected ctrl-<key>, like ctrl-] or ctrl-q; got "${spec}"`, 2);
  const upper = key.toUpperCase();
  const code = upper.charCodeAt(0);
  // Control characters exist for @ A–Z [ \ ] ^ _ (0x40–0x5f).
  if (code < 0x40 || code > 0x5f)
    throw new CliError(`--detach-key: ctrl-${key} is not a control key; try ctrl-] or ctrl-q`, 2);
  return { byte: code & 0x1f, label: `Ctrl-${upper}` };
}

/** Splits input at the detach key: what goes before it, and whether it was pressed. */
export function splitAtDetach(chunk: Buffer, detachByte: number): { forward: Buffer; detach: boolean } {
  const at = chunk.indexOf(detachByte);
  return at < 0 ? { forward: chunk, detach: false } : { forward: chunk.subarray(0, at), detach: true };
}

const ENTER_ALT = ['\x1b[?1049h', '\x1b[?1047h', '\x1b[?47h'];
const LEAVE_ALT = ['\x1b[?1049l', '\x1b[?1047l', '\x1b[?47l'];
const KEEP = 8;

/** Follows whether the remote program has the alternate screen up, across chunk boundaries. */
export class AltScreenTracker {
  #active = false;
  #tail = '';

  get active(): boolean {
    return this.#active;
  }

  feed(bytes: Uint8Array): void {
    const text = this.#tail + Buffer.from(bytes).toString('latin1');
    let lastEnter = -1;
    let lastLeave = -1;
    for (const seq of ENTER_ALT) lastEnter = Math.max(lastEnter, text.lastIndexOf(seq));
    for (const seq of LEAVE_ALT) lastLeave = Math.max(lastLeave, text.lastIndexOf(seq));
    if (lastEnter >= 0 || lastLeave >= 0) this.#active = lastEnter > lastLeave;
    this.#tail = text.slice(-KEEP);
  }

  reset(): void {
    this.#active = false;
    this.#tail = '';
  }
}

/** Written on detach: attributes, cursor, keypad, paste and mouse modes back to normal. */
export function restoreSequence(altScreen: boolean): string {
  return [
    '\x1b[0m',
    '\x1b[?25h',
    '\x1b[?1l\x1b>',
    '\x1b[?2004l',
    '\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l',
    altScreen ? '\x1b[?1049l' : '',
  ].join('');
}

/** Clears the screen and the scrollback before a fresh replay (re-attach, resync): no duplicates. */
export const CLEAR_FOR_REPLAY = '\x1b[H\x1b[2J\x1b[3J';
/** Clears only the visible screen before the first replay (the user's own scrollback stays). */
export const CLEAR_SCREEN = '\x1b[H\x1b[2J';
