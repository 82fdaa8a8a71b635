import { z } from 'zod';
import { Timestamp } from './common.ts';

// Terminal access: a short-lived, single-use token for `/pty/{sessionId}`
// (WebSocket; schema/pty/PROTOCOL.md). Read-write for the human who started the
// session and for org owners and admins; read-only for the other members.

export const TerminalName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'a short lowercase name');

export const CreatePtyToken = z
  .strictObject({
    /** Ask for less than you may have (watch without typing); default: the most you may have. */
    mode: z.enum(['rw', 'ro']).optional(),
    terminal: TerminalName.default('agent'),
  })
  .meta({ id: 'CreatePtyToken' });

export const PtyToken = z
  .object({
    token: z.string(),
    mode: z.enum(['rw', 'ro']),
    expiresAt: Timestamp,
    /** WebSocket URL to open within the token's lifetime (the token is in it). */
    url: z.string(),
  })
  .meta({ id: 'PtyToken' });

/** A login shell next to the agent, in its own terminal (the agent's is `agent`). */
export const OpenTerminal = z
  .strictObject({
    terminal: TerminalName.refine((name) => name !== 'agent', "'agent' is the agent's terminal").default(
      'shell',
    ),
    cols: z.number().int().min(1).max(1000).optional(),
    rows: z.number().int().min(1).max(1000).optional(),
  })
  .meta({ id: 'OpenTerminal' });

export const OpenedTerminal = z
  .object({
    terminal: z.string(),
    /** False when the terminal was already running (nothing new was started). */
    opened: z.boolean(),
  })
  .meta({ id: 'OpenedTerminal' });

export type CreatePtyToken = z.infer<typeof CreatePtyToken>;
export type OpenTerminal = z.infer<typeof OpenTerminal>;
export type OpenedTerminal = z.infer<typeof OpenedTerminal>;
export type PtyToken = z.infer<typeof PtyToken>;

// The terminal viewer protocol the dashboard speaks over `/pty/{sessionId}`
// (schema/pty/PROTOCOL.md), re-exported so the dashboard keeps importing only
// `@airlock/schema/api`. The token for it comes from
// `POST /orgs/{orgId}/sessions/{sessionId}/pty-token` above.
export {
  ACK_EVERY_BYTES,
  ClientMessage as TerminalClientMessage,
  MAX_UNACKED_BYTES,
  PTY_PROTOCOL_VERSION,
  type ServerMessage as TerminalServerMessage,
  type TerminalStatus,
  ViewerCloseCode,
  type ViewerMode,
} from '../pty/messages.ts';
