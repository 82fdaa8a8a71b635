// Headers the edge sets on the requests it forwards to a SessionGateway after
// checking the caller's token. The edge builds these requests itself (nothing
// the client sent is copied), so the gateway can trust them.

export const IngressHeader = {
  /** `tunnel` or `pty`. */
  kind: 'x-airlock-ingress',
  session: 'x-airlock-session',
  org: 'x-airlock-org',
  /** Tunnel: `bootstrap` (jti + expiry checked here) or `resume` (the gateway checks the token). */
  tunnelAuth: 'x-airlock-tunnel-auth',
  jti: 'x-airlock-jti',
  /** Seconds since the epoch. */
  expires: 'x-airlock-expires',
  resumeToken: 'x-airlock-resume-token',
  /** Pty: `rw` or `ro`, the user, and the terminal key. */
  mode: 'x-airlock-pty-mode',
  user: 'x-airlock-user',
  terminal: 'x-airlock-terminal',
} as const;

/** Prefix of resume tokens (opaque to sandboxd; the edge tells them from bootstrap JWTs by it). */
export const RESUME_TOKEN_PREFIX = 'rsm_';
