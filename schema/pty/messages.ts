import { z } from 'zod';

// The terminal viewer protocol (PROTOCOL.md next to this file): what a
// browser or CLI and the session's gateway say over `/pty/:sessionId`.
// Text messages are JSON control messages; binary messages are terminal bytes.

export const PTY_PROTOCOL_VERSION = 1;

/** A viewer must acknowledge output at least this often (bytes). */
export const ACK_EVERY_BYTES = 256 * 1024;
/** Output sent but not yet acknowledged past which the gateway stops sending to a viewer. */
export const MAX_UNACKED_BYTES = 1024 * 1024;

export const ClientMessage = z.discriminatedUnion('type', [
  /** Resize the terminal (writer only). */
  z.strictObject({
    type: z.literal('resize'),
    cols: z.number().int().min(1).max(1000),
    rows: z.number().int().min(1).max(1000),
  }),
  /** Become the writer (read-write viewers only); the previous writer becomes read-only. */
  z.strictObject({ type: z.literal('claim') }),
  /** Give up writing; another read-write viewer may claim it. */
  z.strictObject({ type: z.literal('release') }),
  /** Total binary output bytes received since attaching (replays included). */
  z.strictObject({ type: z.literal('ack'), bytes: z.number().int().min(0) }),
  z.strictObject({ type: z.literal('ping') }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

export type ViewerMode = 'rw' | 'ro';
export type TerminalStatus = 'pending' | 'running' | 'exited' | 'lost';

export type ViewerErrorCode = 'NOT_WRITER' | 'READ_ONLY' | 'BAD_MESSAGE' | 'INPUT_DROPPED' | 'NO_TERMINAL';

export type ServerMessage =
  | {
      readonly type: 'attached';
      readonly version: typeof PTY_PROTOCOL_VERSION;
      readonly terminal: string;
      readonly viewerId: string;
      readonly mode: ViewerMode;
      readonly writer: boolean;
      readonly status: TerminalStatus;
      readonly cols: number;
      readonly rows: number;
      /** Binary bytes of scrollback that follow this message before live output. */
      readonly replay: number;
      /** Output bytes older than the scrollback, no longer available. */
      readonly trimmed: number;
      readonly viewers: number;
    }
  | { readonly type: 'writer'; readonly writer: boolean }
  | { readonly type: 'resize'; readonly cols: number; readonly rows: number }
  | { readonly type: 'viewers'; readonly count: number }
  | {
      readonly type: 'resync';
      /** Output this viewer missed while it was behind. */
      readonly skipped: number;
      /** Binary scrollback bytes that follow; reset the terminal before writing them. */
      readonly replay: number;
    }
  | { readonly type: 'status'; readonly status: TerminalStatus }
  | { readonly type: 'exit'; readonly code: number; readonly signal: number }
  | { readonly type: 'error'; readonly code: ViewerErrorCode; readonly message: string }
  | { readonly type: 'pong' };

/** WebSocket close codes the gateway uses for viewers. */
export const ViewerCloseCode = {
  SESSION_ENDED: 4000,
  REPLACED: 4001,
  PROTOCOL_ERROR: 4002,
} as const;
