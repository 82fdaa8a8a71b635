import type { IntegrationDefinition } from './catalog.ts';
import type { PlanErrorCode, PlanIssue } from './errors.ts';
import { connectionEnv, type PlanConnection } from './routes.ts';
import { PLACEHOLDER_SECRET } from './types.ts';

// A session's environment, assembled in one place for the checks and the
// compiler alike: the placeholders and addresses of bound connections, the
// runtime's own settings, then the profile's variables. Two writers of one
// name with different values is an error, never a silent precedence.
//
// Profile variables come in two kinds (ADR 0152). `plain` values go into the
// plan as they are, so they must not be secrets: a credential-named variable,
// or a value shaped like a known credential, is refused with the two ways to
// do it properly (a connection, brokered by the gateway; or, knowingly, the
// `secret_in_sandbox` kind). `secret_in_sandbox` variables carry a sealed
// secret's id; their values never enter a plan.

export type PlanEnvVar =
  | { readonly name: string; readonly kind: 'plain'; readonly value: string }
  | { readonly name: string; readonly kind: 'secret_in_sandbox'; readonly secretId: string };

/** Names that hold credentials by convention: in a sandbox they may only hold the placeholder. */
export const CREDENTIAL_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)/i;

/** Values shaped like well-known credentials (API keys, tokens, private keys, URLs with a password). */
const CREDENTIAL_VALUES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bsk-[A-Za-z0-9_-]{16,}/, 'an API key (sk-…)'],
  [/\bgh[pousr]_[A-Za-z0-9]{20,}/, 'a GitHub token'],
  [/\bgithub_pat_[A-Za-z0-9_]{20,}/, 'a GitHub token'],
  [/\bglpat-[A-Za-z0-9_-]{20,}/, 'a GitLab token'],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/, 'a Slack token'],
  [/\bAKIA[0-9A-Z]{16}\b/, 'an AWS access key'],
  [/\bAIza[0-9A-Za-z_-]{35}/, 'a Google API key'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./, 'a signed token (JWT)'],
  [/[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, 'a URL with a password'],
];

/**
 * Names a profile may not set: the way out of the sandbox (proxy and CA trust, which sandboxd
 * sets for every process), the process basics, and Airlock's own.
 */
const RESERVED = new Set([
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'ALL_PROXY',
  'NO_PROXY',
  'NODE_USE_ENV_PROXY',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'NODE_EXTRA_CA_CERTS',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'GIT_SSL_CAINFO',
  'CODEX_CA_CERTIFICATE',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'PATH',
  'PWD',
  'TERM',
]);

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const SECRET_ID = /^sec_[0-9A-Z]{26}$/;

/** Why a profile variable's name may not be used, or null. */
export function reservedEnvName(name: string): string | null {
  const upper = name.toUpperCase();
  if (RESERVED.has(upper)) return `${name} is set by the sandbox itself`;
  if (upper.startsWith('AIRLOCK_')) return `AIRLOCK_* variables are Airlock's own`;
  return null;
}

/** What a plain value looks like if it looks like a credential, or null. */
export function credentialShape(name: string, value: string): string | null {
  if (CREDENTIAL_NAME.test(name) && value !== PLACEHOLDER_SECRET) return 'a credential (by its name)';
  for (const [pattern, what] of CREDENTIAL_VALUES) if (pattern.test(value)) return what;
  return null;
}

const MAX_VALUE = 32 * 1024;

/** Checks of the profile's own variables, each issue at `envVars.N.<field>`. */
export function checkEnvVars(vars: readonly PlanEnvVar[]): PlanIssue[] {
  const issues: PlanIssue[] = [];
  const push = (code: PlanErrorCode, path: string, message: string) => issues.push({ code, path, message });
  const seen = new Map<string, number>();
  vars.forEach((v, i) => {
    const at = `envVars.${i}`;
    if (!ENV_NAME.test(v.name)) {
      push('INVALID_ENV', `${at}.name`, `"${v.name.slice(0, 64)}" is not an environment variable name`);
      return;
    }
    const other = seen.get(v.name);
    if (other !== undefined)
      push('INVALID_ENV', `${at}.name`, `${v.name} is already set by envVars.${other}`);
    else seen.set(v.name, i);
    const reserved = reservedEnvName(v.name);
    if (reserved !== null) push('RESERVED_ENV', `${at}.name`, reserved);
    if (v.kind === 'plain') {
      if (v.value.length > MAX_VALUE)
        push('INVALID_ENV', `${at}.value`, `${v.name} is longer than ${MAX_VALUE} characters`);
      const shape = credentialShape(v.name, v.value);
      if (shape !== null)
        push(
          'SECRET_IN_PLAIN_ENV',
          `${at}.value`,
          `${v.name} looks like ${shape}; plain variables are visible to anyone who can read the profile. Bind a connection (the gateway injects its credential; the sandbox holds a placeholder), or, if the agent must hold it, use the kind "secret_in_sandbox"`,
        );
    } else if (!SECRET_ID.test(v.secretId))
      push('INVALID_ENV', `${at}.secretId`, `${v.name} names no stored secret`);
  });
  return issues;
}

export interface EnvSource {
  readonly path: string;
  readonly connection: PlanConnection;
  readonly def: IntegrationDefinition;
}

/**
 * The plan's environment and the agent process's own, from the bound connections, the
 * runtime's settings and the profile's plain variables; conflicts as issues.
 */
export function assembleEnv(input: {
  readonly connections: readonly EnvSource[];
  readonly runtime: { readonly name: string; readonly env: Readonly<Record<string, string>> };
  readonly vars: readonly PlanEnvVar[];
}): { env: Record<string, string>; issues: PlanIssue[] } {
  const env: Record<string, string> = {};
  const owner = new Map<string, string>();
  const issues: PlanIssue[] = [];
  const set = (name: string, value: string, who: string, path: string) => {
    const existing = env[name];
    if (existing !== undefined && existing !== value) {
      issues.push({
        code: 'ENV_CONFLICT',
        path,
        message: `${who} sets ${name}, which ${owner.get(name) ?? 'another binding'} sets to a different value`,
      });
      return;
    }
    env[name] = value;
    owner.set(name, who);
  };
  for (const entry of input.connections)
    for (const [name, value] of Object.entries(
      connectionEnv(entry.def, entry.connection, PLACEHOLDER_SECRET),
    ))
      set(name, value, `connection ${entry.connection.id}`, entry.path);
  for (const [name, value] of Object.entries(input.runtime.env))
    set(name, value, input.runtime.name, 'agentRuntime');
  input.vars.forEach((v, i) => {
    if (v.kind === 'plain') set(v.name, v.value, `envVars.${i}`, `envVars.${i}.name`);
    else if (Object.hasOwn(env, v.name))
      issues.push({
        code: 'ENV_CONFLICT',
        path: `envVars.${i}.name`,
        message: `${v.name} is already set by ${owner.get(v.name) ?? 'the plan'}`,
      });
  });
  return { env, issues };
}
