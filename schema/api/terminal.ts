// The terminal viewer protocol the dashboard speaks over `/pty/{sessionId}`
// (schema/pty/PROTOCOL.md), re-exported so the dashboard keeps importing only
// `@airlock/schema/api`. The token for it comes from
// `POST /orgs/{orgId}/sessions/{sessionId}/terminal-token`.
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
