import { useEffect, useState } from 'react';

interface Health {
  status: string;
  checks: Record<string, { ok: boolean; latencyMs: number; error?: string }>;
}

/** The product shell: for now, whether the control plane and its dependencies are up. */
export function App() {
  const [health, setHealth] = useState<Health | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    fetch('/healthz')
      .then(async (response) => setHealth((await response.json()) as Health))
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);

  return (
    <main
      style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 640, margin: '4rem auto', lineHeight: 1.5 }}
    >
      <h1>Airlock</h1>
      <p>Credentialless sandboxes for coding agents.</p>
      <section aria-labelledby="health-title">
        <h2 id="health-title">Control plane</h2>
        {error && <p role="alert">Could not reach the control plane: {error}</p>}
        {!health && !error && <p aria-busy="true">Checking…</p>}
        {health && (
          <ul>
            {Object.entries(health.checks).map(([name, check]) => (
              <li key={name}>
                {name}: {check.ok ? `ok (${check.latencyMs} ms)` : `failing — ${check.error ?? 'no detail'}`}
              </li>
            ))}
          </ul>
        )}
      </section>
    </main>
  );
}
