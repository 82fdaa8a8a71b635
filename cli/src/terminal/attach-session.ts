import { ViewerCloseCode } from '@airlock/schema/api';
import pc from 'picocolors';
import { ApiError } from '../api-client.ts';
import { printable } from '../output.ts';
import {
  AltScreenTracker,
  CLEAR_FOR_REPLAY,
  CLEAR_SCREEN,
  restoreSequence,
  splitAtDetach,
} from './local-terminal.ts';
import { type AttachedMessage, TerminalViewer, type ViewerOptions } from './viewer.ts';

// `airlock attach`: the local terminal in raw mode, wired to a session
// terminal. Keystrokes go to the gateway while this viewer is the writer;
// the detach key (never sent) leaves; the window size follows the local
// one; scrollback is replayed on attach; a read-only viewer is told, on the
// spot, that its typing goes nowhere. A lost connection is retried (bounded),
// replaying the screen afresh.

export interface Tty {
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

export interface AttachSessionOptions extends Omit<ViewerOptions, 'headers'> {
  readonly headers: () => Record<string, string>;
  readonly detachByte: number;
  readonly detachLabel: string;
  readonly takeOver: boolean;
  readonly tty: Tty;
  readonly maxReconnects?: number;
}

const NOTICE_EVERY_MS = 2000;

export class AttachSession {
  readonly #o: AttachSessionOptions;
  readonly #alt = new AltScreenTracker();
  #viewer: TerminalViewer | null = null;
  #live: { mode: 'rw' | 'ro'; writer: boolean; viewers: number; status: string } | null = null;
  #attachedOnce = false;
  #reconnects = 0;
  #lastNotice = 0;
  #done: ((code: number) => void) | null = null;
  #finished = false;
  #raw = false;

  constructor(options: AttachSessionOptions) {
    this.#o = options;
  }

  /** Resolves with the exit status once detached or ended; rejects if the first attach is refused. */
  async run(): Promise<number> {
    const finished = new Promise<number>((resolve) => {
      this.#done = resolve;
    });
    await this.#connect();
    this.#takeKeyboard();
    return finished;
  }

  #say(text: string): void {
    this.#o.tty.stderr.write(`\r\n${pc.dim('[airlock]')} ${text}\r\n`);
  }

  async #connect(): Promise<void> {
    const viewer = new TerminalViewer(
      { ...this.#o, headers: this.#o.headers() },
      {
        attached: (m) => this.#onAttached(m),
        output: (bytes) => {
          this.#alt.feed(bytes);
          this.#o.tty.stdout.write(bytes);
        },
        control: (m) => {
          const live = this.#live;
          switch (m.type) {
            case 'writer':
              if (live !== null && !live.writer && m.writer) this.#say('you have the keyboard');
              if (live !== null) live.writer = m.writer;
              if (m.writer) this.#sendSize();
              else if (live?.mode === 'rw')
                this.#say('another viewer took over the keyboard; you are watching');
              return;
            case 'viewers':
              if (live !== null) live.viewers = m.count;
              return;
            case 'status':
              if (live !== null) live.status = m.status;
              if (m.status === 'lost') this.#say('the sandbox is away; waiting for it to come back');
              this.#claimIfAlone();
              return;
            case 'resync':
              this.#alt.reset();
              this.#o.tty.stdout.write(CLEAR_FOR_REPLAY);
              return;
            case 'exit':
              this.#finish(0, `the process in terminal "${this.#o.terminal}" exited (code ${m.code})`);
              return;
            case 'error':
              this.#say(pc.yellow(printable(m.message)));
              return;
            default:
              return;
          }
        },
        closed: (code, reason) => this.#onClosed(code, reason),
      },
    );
    // Set before the first message can arrive, so an early `attached` may already claim.
    this.#viewer = viewer;
    try {
      await viewer.opened;
    } catch (error) {
      this.#viewer = null;
      throw error;
    }
  }

  #onAttached(m: AttachedMessage): void {
    this.#live = { mode: m.mode, writer: m.writer, viewers: m.viewers, status: m.status };
    this.#reconnects = 0;
    this.#alt.reset();
    this.#o.tty.stdout.write(this.#attachedOnce ? CLEAR_FOR_REPLAY : CLEAR_SCREEN);
    const role =
      m.mode === 'ro'
        ? pc.yellow('read-only: you can watch but not type')
        : m.writer
          ? 'you type'
          : 'watching';
    this.#say(
      `attached to "${m.terminal}" (${role}; ${m.viewers} viewer${m.viewers === 1 ? '' : 's'}; ${m.replay} bytes of scrollback). ${this.#o.detachLabel} detaches.`,
    );
    this.#attachedOnce = true;
    if (m.writer) this.#sendSize();
    else if (m.mode === 'rw' && this.#o.takeOver) this.#viewer?.claim();
    else this.#claimIfAlone();
  }

  /** Alone on a running terminal, a read-write viewer takes the keyboard (as the dashboard does). */
  #claimIfAlone(): void {
    const live = this.#live;
    if (live !== null && live.mode === 'rw' && !live.writer && live.viewers <= 1 && live.status === 'running')
      this.#viewer?.claim();
  }

  #sendSize(): void {
    const { columns, rows } = this.#o.tty.stdout;
    if (this.#live?.writer === true && columns !== undefined && rows !== undefined)
      this.#viewer?.resize(columns, rows);
  }

  #takeKeyboard(): void {
    const { stdin, stdout } = this.#o.tty;
    if (stdin.isTTY) {
      stdin.setRawMode(true);
      this.#raw = true;
    }
    stdin.on('data', this.#onInput);
    stdin.resume();
    stdout.on('resize', this.#onResize);
    for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.on(signal, this.#onSignal);
  }

  readonly #onResize = () => this.#sendSize();
  readonly #onSignal = () => this.#finish(0, 'detached');

  readonly #onInput = (chunk: Buffer) => {
    const { forward, detach } = splitAtDetach(chunk, this.#o.detachByte);
    if (forward.length > 0) {
      const live = this.#live;
      if (live?.writer === true) this.#viewer?.send(forward);
      else if (live?.mode === 'ro')
        this.#notice(
          `read-only: your input is not sent (you may watch this terminal, not type). ${this.#o.detachLabel} detaches.`,
        );
      else if (live !== null) this.#notice('another viewer is typing; attach with --take-over to type here.');
    }
    if (detach) this.#finish(0, 'detached');
  };

  #notice(text: string): void {
    const now = Date.now();
    if (now - this.#lastNotice < NOTICE_EVERY_MS) return;
    this.#lastNotice = now;
    this.#say(pc.yellow(text));
  }

  #onClosed(code: number, reason: string): void {
    this.#viewer = null;
    if (this.#finished) return;
    if (code === ViewerCloseCode.SESSION_ENDED) this.#finish(0, reason || 'the session has ended');
    else if (code === ViewerCloseCode.PROTOCOL_ERROR || code === ViewerCloseCode.REPLACED)
      this.#finish(1, `the gateway closed the terminal: ${reason || code}`);
    else void this.#reconnect(reason || `connection closed (${code})`);
  }

  async #reconnect(why: string): Promise<void> {
    const max = this.#o.maxReconnects ?? 6;
    while (!this.#finished) {
      this.#reconnects += 1;
      if (this.#reconnects > max) return this.#finish(1, `${why}; gave up after ${max} attempts`);
      const delay = Math.min(8000, 500 * 2 ** (this.#reconnects - 1)) * (0.5 + Math.random() / 2);
      this.#say(`${why}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.#finished) return;
      try {
        await this.#connect();
        return;
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) return this.#finish(0, error.message);
        if (error instanceof ApiError && [401, 403, 404].includes(error.status))
          return this.#finish(1, error.message);
        why = error instanceof Error ? error.message : String(error);
      }
    }
  }

  #finish(code: number, message: string): void {
    if (this.#finished) return;
    this.#finished = true;
    const { stdin, stdout } = this.#o.tty;
    stdout.write(restoreSequence(this.#alt.active));
    stdin.off('data', this.#onInput);
    stdout.off('resize', this.#onResize);
    for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.off(signal, this.#onSignal);
    if (this.#raw) stdin.setRawMode(false);
    stdin.pause();
    this.#viewer?.close();
    this.#say(message);
    this.#done?.(code);
  }
}
