import { z } from 'zod';

// What is fixed about a Docker sandbox's inside, shared by the runner (which
// mounts the socket) and the control plane (which writes sandboxd's startup
// input). The base image is built by runner/images (see its README).

/** Directory the runner bind-mounts (read-only) into every Docker sandbox that has a tunnel. */
export const SANDBOX_GATEWAY_DIR = '/run/airlock/gateway';
/** The unix socket in it; the runner relays each connection to the Worker's `/tunnel/<sessionId>`. */
export const SANDBOX_GATEWAY_SOCKET = `${SANDBOX_GATEWAY_DIR}/gateway.sock`;
/** The unprivileged user agents run as, its home and the workspace (repos are cloned here). */
export const SANDBOX_USER = 'sandbox';
export const SANDBOX_HOME = '/home/sandbox';
export const SANDBOX_WORKSPACE = '/workspace';
/** Where snapshot builds install the agent CLI (npm global prefix, owned by `sandbox`). */
export const SANDBOX_AGENT_PREFIX = '/opt/airlock/agent';

/**
 * sandboxd's startup input (`sandboxd run` reads it as JSON on stdin; the Rust side's
 * `startup.rs` is authoritative and rejects unknown fields). The runner writes it to the
 * container's stdin on `start`; it never touches disk.
 */
export const SandboxStartupInput = z.strictObject({
  sessionId: z.string().min(1),
  /** Single-use bootstrap token; sent as `Authorization: Bearer` on the tunnel upgrade. */
  bootstrapToken: z.string().min(1),
  gateway: z
    .strictObject({
      /** `wss://…/tunnel/<sessionId>` for remote sandboxes. */
      url: z.string().optional(),
      /** Docker sandboxes: the runner's socket, and the path to upgrade on. */
      unixSocket: z.string().optional(),
      path: z.string().startsWith('/').optional(),
      caPem: z.string().optional(),
    })
    .refine(
      (g) => (g.url === undefined) !== (g.unixSocket === undefined),
      'exactly one of url and unixSocket',
    ),
  env: z.record(z.string(), z.string()).optional(),
  proxyListen: z.string().optional(),
  user: z.string().optional(),
  logJson: z.boolean().optional(),
});
export type SandboxStartupInput = z.infer<typeof SandboxStartupInput>;
