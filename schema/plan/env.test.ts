import { describe, expect, it } from 'vitest';
import { checkVersion, type PlanVersion } from './check.ts';
import { compileRuntimePlan } from './compile.ts';
import type { PlanEnvVar } from './env.ts';
import type { PlanConnection } from './routes.ts';

// The profile's own environment variables: plain values go into the plan,
// secrets-in-the-sandbox only by reference; anything that looks like a
// credential in a plain value, or that would take over the sandbox's way out,
// is refused with the field at fault.

const ids = {
  org: 'org_01JD0000000000000000000000',
  profile: 'prf_01JD0000000000000000000000',
  version: 'prv_01JD0000000000000000000000',
  openai: 'con_01JD00000000000000000000OA',
};
const SECRET_ID = 'sec_01JD0000000000000000000000';
const connections: PlanConnection[] = [
  { id: ids.openai, integration: 'openai', status: 'active', config: {} },
];

const version = (envVars: PlanEnvVar[]): PlanVersion => ({
  id: ids.version,
  orgId: ids.org,
  profileId: ids.profile,
  number: 1,
  status: 'published',
  agentRuntime: 'codex',
  modelConnectionId: ids.openai,
  gitConnectionId: null,
  repositories: [],
  connectorBindings: [],
  egressAllowlist: [],
  envVars,
});

const issues = (vars: PlanEnvVar[]) =>
  checkVersion(version(vars), connections, { completeness: true }).issues.map((i) => [i.code, i.path]);

describe('profile environment variables', () => {
  it('puts plain values in the plan and secrets in the sandbox only by reference', () => {
    const plan = compileRuntimePlan({
      version: version([
        { name: 'RUST_LOG', kind: 'plain', value: 'debug' },
        { name: 'NPM_TOKEN', kind: 'secret_in_sandbox', secretId: SECRET_ID },
      ]),
      connections,
    });
    expect(plan.env.RUST_LOG).toBe('debug');
    expect(plan.env.NPM_TOKEN).toBeUndefined();
    expect(plan.secretsInSandbox).toEqual([{ name: 'NPM_TOKEN', secretId: SECRET_ID }]);
    expect(JSON.stringify(plan)).not.toContain('secret_in_sandbox');
  });

  it('refuses a plain value that looks like a credential, by name or by shape', () => {
    expect(issues([{ name: 'NPM_TOKEN', kind: 'plain', value: 'abc' }])).toEqual([
      ['SECRET_IN_PLAIN_ENV', 'envVars.0.value'],
    ]);
    for (const value of [
      'sk-proj-0123456789abcdefghijkl',
      'ghp_0123456789abcdefghijklmnopqrstuvwxyz',
      'xoxb-1234-5678-abcdefghij',
      'AKIAABCDEFGHIJKLMNOP',
      '-----BEGIN OPENSSH PRIVATE KEY-----\nabc',
      'https://user:hunter2@registry.example.com/',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig',
    ])
      expect(issues([{ name: 'SOME_SETTING', kind: 'plain', value }])).toEqual([
        ['SECRET_IN_PLAIN_ENV', 'envVars.0.value'],
      ]);
    // The placeholder is not a secret.
    expect(issues([{ name: 'OTHER_API_KEY', kind: 'plain', value: 'airlock-brokered' }])).toEqual([]);
  });

  it('keeps the sandbox’s way out and process basics out of a profile’s hands', () => {
    for (const name of [
      'HTTPS_PROXY',
      'https_proxy',
      'NO_PROXY',
      'SSL_CERT_FILE',
      'NODE_EXTRA_CA_CERTS',
      'PATH',
      'HOME',
      'AIRLOCK_X',
    ])
      expect(issues([{ name, kind: 'plain', value: 'x' }])).toEqual([['RESERVED_ENV', 'envVars.0.name']]);
  });

  it('refuses bad and duplicate names, and a variable that shadows a placeholder or the runtime', () => {
    expect(issues([{ name: '1BAD', kind: 'plain', value: 'x' }])).toEqual([
      ['INVALID_ENV', 'envVars.0.name'],
    ]);
    expect(
      issues([
        { name: 'A', kind: 'plain', value: 'x' },
        { name: 'A', kind: 'plain', value: 'x' },
      ]),
    ).toEqual([['INVALID_ENV', 'envVars.1.name']]);
    expect(issues([{ name: 'OPENAI_API_KEY', kind: 'secret_in_sandbox', secretId: SECRET_ID }])).toEqual([
      ['ENV_CONFLICT', 'envVars.0.name'],
    ]);
    expect(issues([{ name: 'CODEX_HOME', kind: 'plain', value: '/tmp/x' }])).toEqual([
      ['ENV_CONFLICT', 'envVars.0.name'],
    ]);
    expect(issues([{ name: 'X', kind: 'secret_in_sandbox', secretId: 'sec_nope' }])).toEqual([
      ['INVALID_ENV', 'envVars.0.secretId'],
    ]);
  });

  it('refuses an agent version that is neither exact nor latest', () => {
    for (const bad of ['^1.2.3', '1.2', 'next', '1.2.3 || 2', '--registry=x'])
      expect(
        checkVersion({ ...version([]), agentVersion: bad }, connections, { completeness: true }).issues.map(
          (i) => [i.code, i.path],
        ),
      ).toEqual([['INVALID_AGENT_VERSION', 'agentVersion']]);
  });
});
