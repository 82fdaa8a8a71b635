import { ensureBaseImage } from '../runner/images/build.ts';
import { startE2bStandIn } from './standins/e2b/index.ts';

// `AIRLOCK_DEV_PROVIDERS=e2b ./dev start`: remote sandbox providers on this
// machine, as their local stand-ins (ADR 0162), so a newcomer can choose E2B in
// the dashboard and get a working session. The Worker runs them in the
// deployment's own account (`provider_credentials = "deployment"`, ADR 0163):
// no connection to create. Sandboxes dial the Worker by a public-looking name
// that only the stand-in's "internet" resolves.

/** The Worker's name in the stand-ins' world (remote sandboxes dial `ws://` + this). */
export const DEV_GATEWAY_HOST = 'airlock-gateway.local';

export interface DevProviders {
  /** AIRLOCK_* variables for the Worker. */
  readonly vars: Record<string, string>;
  readonly lines: string[];
  close(): Promise<void>;
}

export function requestedProviders(value: string | undefined): Set<string> {
  const wanted = new Set(
    (value ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== ''),
  );
  for (const p of wanted)
    if (p !== 'e2b')
      throw new Error(
        `AIRLOCK_DEV_PROVIDERS: "${p}" has no local stand-in (available: e2b; Modal is not built yet)`,
      );
  return wanted;
}

export async function startDevProviders(
  wanted: ReadonlySet<string>,
  workerPort: number,
  progress: (line: string) => void,
): Promise<DevProviders> {
  if (!wanted.has('e2b')) return { vars: {}, lines: [], close: async () => {} };
  // The stand-in's base template is the runner's base image (with this checkout's sandboxd).
  await ensureBaseImage({ progress });
  const e2b = await startE2bStandIn({ world: { [DEV_GATEWAY_HOST]: `127.0.0.1:${workerPort}` }, tag: 'dev' });
  return {
    vars: {
      AIRLOCK_SANDBOX_PROVIDER_CREDENTIALS: 'deployment',
      AIRLOCK_SANDBOX_E2B_API_KEY: e2b.apiKey,
      AIRLOCK_SANDBOX_E2B_API_URL: e2b.apiUrl,
      AIRLOCK_SANDBOX_E2B_SANDBOX_URL: e2b.sandboxUrl,
      AIRLOCK_SERVICES_TUNNEL_PUBLIC_URL: `ws://${DEV_GATEWAY_HOST}`,
    },
    lines: [`E2B stand-in at ${e2b.apiUrl}: choose "e2b" as a profile's sandbox provider.`],
    close: e2b.close,
  };
}
