import { Terminal } from '@xterm/headless';
import { WebSocket } from 'ws';
import type { CredentiallessWorld } from './credentialless-world.ts';

// A session's agent terminal as a person sees it in the dashboard: attached
// through /pty with a pty token, rendered by a real terminal emulator
// (@xterm/headless, the dashboard's xterm without a DOM) that also answers
// the TUI's terminal queries (cursor position, device attributes) the way the
// browser does. Tests read the rendered screen, not raw escape sequences.

export interface AgentTerminal {
  /** The visible screen, one line per row, trailing spaces trimmed. */
  screen(): string;
  /** Until the screen contains `text` (or matches it); the screen on failure. */
  waitFor(what: string | RegExp, timeoutMs: number): Promise<void>;
  /** Until the screen has not changed for `quietMs` (a TUI done drawing its start-up notices). */
  settle(quietMs: number, timeoutMs: number): Promise<void>;
  /**
   * Type like a person: take the keyboard (claim it), then the text, until the input box shows it (a TUI that is still setting up
   * its input drops early keys; the text is typed again, at most three times), then Enter.
   */
  type(text: string): Promise<void>;
  close(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Attach as the writer, retrying while the gateway does not know the session yet (it is starting). */
export async function attachAgentTerminal(
  world: CredentiallessWorld,
  sessionId: string,
  timeoutMs = 120_000,
): Promise<AgentTerminal> {
  const term = new Terminal({ cols: 120, rows: 32, allowProposedApi: true });
  const deadline = Date.now() + timeoutMs;
  let socket: WebSocket | undefined;
  let lastError = '';
  while (socket === undefined && Date.now() < deadline) {
    const grant = await world.api<{ url: string }>(
      'POST',
      `/orgs/${world.orgId}/sessions/${sessionId}/pty-token`,
      {
        terminal: 'agent',
        mode: 'rw',
      },
    );
    const url = new URL(grant.url);
    const candidate = new WebSocket(`${world.workerUrl.replace('http', 'ws')}${url.pathname}${url.search}`);
    const opened = await new Promise<boolean>((resolve) => {
      candidate.once('open', () => resolve(true));
      candidate.once('error', (error) => {
        lastError = String(error);
        resolve(false);
      });
      candidate.once('unexpected-response', (_req, res) => {
        lastError = `HTTP ${res.statusCode}`;
        resolve(false);
      });
    });
    if (opened) socket = candidate;
    else await sleep(500);
  }
  if (socket === undefined)
    throw new Error(`could not attach to ${sessionId}'s agent terminal: ${lastError}`);
  const ws = socket;
  let received = 0;
  // The gateway names a writer only once the terminal runs: a viewer that attached before
  // (as these tests do) must claim the keyboard, as the dashboard does when it is alone.
  let writer = false;
  const errors: string[] = [];
  ws.on('message', (data, binary) => {
    if (!binary) {
      const message = JSON.parse(String(data)) as {
        type: string;
        cols?: number;
        rows?: number;
        writer?: boolean;
        message?: string;
      };
      if (message.type === 'resize' && message.cols !== undefined && message.rows !== undefined)
        term.resize(message.cols, message.rows);
      if (message.type === 'resync') term.reset();
      if ((message.type === 'attached' || message.type === 'writer') && message.writer !== undefined)
        writer = message.writer;
      if (message.type === 'error' && errors.length < 10) errors.push(message.message ?? '');
      return;
    }
    const bytes = Buffer.from(data as Buffer);
    received += bytes.length;
    term.write(bytes);
    ws.send(JSON.stringify({ type: 'ack', bytes: received }));
  });
  // The emulator's replies to the TUI's queries go back as keyboard input, as xterm.js's do;
  // the first few are kept, so a TUI that ignores typing can be told what it was answered.
  const replies: string[] = [];
  term.onData((reply) => {
    if (replies.length < 20) replies.push(reply);
    if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.from(reply));
  });
  const screen = () => {
    const buffer = term.buffer.active;
    const lines: string[] = [];
    for (let row = 0; row < term.rows; row++)
      lines.push(buffer.getLine(buffer.viewportY + row)?.translateToString(true) ?? '');
    return lines.join('\n');
  };
  return {
    screen,
    waitFor: async (what, ms) => {
      const until = Date.now() + ms;
      const found = () => (typeof what === 'string' ? screen().includes(what) : what.test(screen()));
      while (!found()) {
        if (Date.now() > until)
          throw new Error(`the agent's screen never showed ${String(what)} in ${ms / 1000} s:\n${screen()}`);
        await sleep(250);
      }
    },
    settle: async (quietMs, ms) => {
      const until = Date.now() + ms;
      let last = screen();
      let since = Date.now();
      while (Date.now() - since < quietMs) {
        if (Date.now() > until)
          throw new Error(`the agent's screen kept changing for ${ms / 1000} s:\n${screen()}`);
        await sleep(250);
        const now = screen();
        if (now !== last) {
          last = now;
          since = Date.now();
        }
      }
    },
    type: async (text) => {
      const claimUntil = Date.now() + 10_000;
      while (!writer && Date.now() < claimUntil) {
        ws.send(JSON.stringify({ type: 'claim' }));
        await sleep(500);
      }
      if (!writer) throw new Error(`could not take the keyboard: ${JSON.stringify(errors)}`);
      for (let attempt = 0; attempt < 3 && !screen().includes(text); attempt++) {
        ws.send(Buffer.from(text));
        const until = Date.now() + 5_000;
        while (!screen().includes(text) && Date.now() < until) await sleep(250);
      }
      if (!screen().includes(text))
        throw new Error(
          `typed ${JSON.stringify(text)} three times; the screen never showed it (the emulator answered ${JSON.stringify(replies)}; the gateway said ${JSON.stringify(errors)}):\n${screen()}`,
        );
      await sleep(500);
      ws.send(Buffer.from('\r'));
    },
    close: () => {
      ws.close();
      term.dispose();
    },
  };
}
