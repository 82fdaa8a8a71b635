import type { SandboxStartupInput } from '@airlock/schema/runner';
import type { TunnelDial } from './types.ts';

// sandboxd's startup input for a session's sandbox: who it is, its single-use
// bootstrap token, how it reaches the gateway (the provider decides), and the
// non-secret environment for the agent. Handed to `provider.start`.

export function startupInput(input: {
  sessionId: string;
  bootstrapToken: string;
  tunnel: TunnelDial;
  env?: Readonly<Record<string, string>>;
}): SandboxStartupInput {
  const gateway =
    input.tunnel.kind === 'unix-socket'
      ? { unixSocket: input.tunnel.socketPath, path: input.tunnel.path }
      : { url: input.tunnel.url };
  return {
    sessionId: input.sessionId,
    bootstrapToken: input.bootstrapToken,
    gateway,
    ...(input.env === undefined ? {} : { env: { ...input.env } }),
  };
}
