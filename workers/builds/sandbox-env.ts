import type { RuntimePlan } from '@airlock/schema/plan';

// The environment of a build command run with `docker exec`. Processes that
// sandboxd starts get its proxy and CA trust variables; a `docker exec` does
// not inherit them, so the build passes the same ones explicitly. The values
// are sandboxd's defaults for the startup input the lifecycle sends
// (`proxyListen` 127.0.0.1:8877, `paths.caBundle` /etc/airlock/ca.pem); the
// names are those sandboxd sets (sandboxd/src/startup.rs `child_env`).

export const SANDBOX_PROXY = 'http://127.0.0.1:8877';
export const SANDBOX_CA_BUNDLE = '/etc/airlock/ca.pem';

const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY'];
const CA_VARS = [
  'SSL_CERT_FILE',
  'NODE_EXTRA_CA_CERTS',
  'REQUESTS_CA_BUNDLE',
  'GIT_SSL_CAINFO',
  'CURL_CA_BUNDLE',
  'CODEX_CA_CERTIFICATE',
];
const NO_PROXY = 'localhost,127.0.0.1,::1';

/** The plan's non-secret env, plus the way out through sandboxd's proxy and trust in its CA. */
export function buildExecEnv(plan: RuntimePlan): Record<string, string> {
  const env: Record<string, string> = { ...plan.env };
  for (const name of PROXY_VARS) {
    env[name] = SANDBOX_PROXY;
    env[name.toLowerCase()] = SANDBOX_PROXY;
  }
  env.NO_PROXY = NO_PROXY;
  env.no_proxy = NO_PROXY;
  env.NODE_USE_ENV_PROXY = '1';
  for (const name of CA_VARS) env[name] = SANDBOX_CA_BUNDLE;
  env.GIT_TERMINAL_PROMPT = '0';
  return env;
}
