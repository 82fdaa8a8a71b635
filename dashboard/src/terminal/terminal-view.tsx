import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client.ts';
import { api } from '../api/endpoints.ts';
import { Button } from '../ui/button.tsx';
import { TerminalConnection, type TerminalState, type TicketError } from './terminal-connection.ts';

// The session's live terminal: xterm.js fed by a TerminalConnection. The
// writer's terminal fits its box and sizes the PTY; other viewers mirror the
// writer's size and are read-only until they take over.

function ticketError(error: unknown): TicketError {
  if (error instanceof ApiError) {
    if (error.status === 409) return { outcome: 'ended', message: error.message };
    if (error.status === 401 || error.status === 403 || error.status === 404)
      return { outcome: 'refused', message: error.message };
    return { outcome: 'retry', message: error.message };
  }
  return { outcome: 'retry', message: error instanceof Error ? error.message : String(error) };
}

export function describe(state: TerminalState): string {
  switch (state.kind) {
    case 'idle':
      return 'Not connected';
    case 'connecting':
      return state.attempt > 1 ? `Reconnecting (attempt ${state.attempt})…` : 'Connecting…';
    case 'live':
      if (state.status === 'pending') return 'Connected; waiting for the sandbox to start the terminal…';
      if (state.status === 'exited') return 'The terminal process exited.';
      if (state.status === 'lost') return 'Connected; the sandbox is unreachable, output may be missing.';
      return state.mode === 'ro'
        ? 'Watching (read-only)'
        : state.writer
          ? 'Live: you are typing'
          : 'Live: someone else is typing';
    case 'waiting':
      return `${state.reason} Retrying in ${Math.ceil(state.retryInMs / 1000)} s…`;
    case 'ended':
      return state.reason;
    case 'failed':
      return state.reason;
  }
}

export function TerminalView({
  orgId,
  sessionId,
  readOnly,
  terminal = 'agent',
}: {
  orgId: string;
  sessionId: string;
  readOnly: boolean;
  /** Which of the session's terminals: the agent's, or a shell next to it. */
  terminal?: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const connection = useRef<TerminalConnection | null>(null);
  const [state, setState] = useState<TerminalState>({ kind: 'idle' });
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    const element = host.current;
    if (element === null) return;
    const term = new Terminal({
      convertEol: false,
      cursorBlink: true,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, monospace',
      fontSize: 13,
      scrollback: 5000,
      screenReaderMode: false,
      theme: { background: '#0f1419', foreground: '#e6e6e6' },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.loadAddon(new WebLinksAddon());
    term.open(element);
    const live = new TerminalConnection({
      ticket: async () => {
        try {
          const ticket = await api.terminalToken(orgId, sessionId, readOnly ? 'ro' : undefined, terminal);
          // Same origin as the page, whatever host name the browser used to reach it.
          const { pathname, search } = new URL(ticket.url);
          const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
          return { url: `${scheme}//${location.host}${pathname}${search}`, mode: ticket.mode };
        } catch (error) {
          throw ticketError(error);
        }
      },
      sink: {
        reset: () => term.reset(),
        write: (bytes) => term.write(bytes),
      },
      onState: (next) => {
        setState(next);
        if (next.kind === 'live') {
          term.options.disableStdin = !next.writer;
          if (next.writer) fit.fit();
          else if (next.cols !== term.cols || next.rows !== term.rows) term.resize(next.cols, next.rows);
        }
      },
      onNotice: setNotice,
    });
    connection.current = live;
    const typed = term.onData((data) => {
      live.send(data);
    });
    const sized = term.onResize(({ cols, rows }) => live.resize(cols, rows));
    const observer = new ResizeObserver(() => {
      if (live.state.kind === 'live' && live.state.writer) fit.fit();
    });
    observer.observe(element);
    fit.fit();
    live.resize(term.cols, term.rows);
    live.start();
    return () => {
      observer.disconnect();
      typed.dispose();
      sized.dispose();
      live.stop();
      connection.current = null;
      term.dispose();
    };
  }, [orgId, sessionId, readOnly, terminal]);

  const canClaim = state.kind === 'live' && state.mode === 'rw' && !state.writer;
  return (
    <section className="terminal" aria-label="Terminal">
      <div className="terminal-bar">
        <span role="status" aria-live="polite" data-state={state.kind} className="terminal-status">
          <span className={`dot dot-${state.kind}`} aria-hidden="true" /> {describe(state)}
        </span>
        {state.kind === 'live' && state.viewers > 1 && (
          <span className="muted small">{state.viewers} viewers</span>
        )}
        {state.kind === 'live' && state.trimmed > 0 && (
          <span className="muted small">older output ({state.trimmed} bytes) is no longer kept</span>
        )}
        {canClaim && (
          <Button variant="secondary" onClick={() => connection.current?.claim()}>
            Take over typing
          </Button>
        )}
        {(state.kind === 'failed' || state.kind === 'idle') && (
          <Button onClick={() => connection.current?.start()}>Reconnect</Button>
        )}
      </div>
      {notice !== null && (
        <p className="muted small" role="note">
          {notice}
        </p>
      )}
      <div ref={host} className="terminal-screen" data-testid="terminal" />
    </section>
  );
}
