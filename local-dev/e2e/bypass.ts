import { PassThrough } from 'node:stream';
import type { CredentiallessWorld } from './credentialless-world.ts';

// Ways a process in a sandbox might try to reach the world without the
// gateway, run as the sandbox user (what the agent and its tools run as) in a
// running session's container. Attempts that leave through sandboxd's proxy
// reach the gateway, which must refuse them and audit the refusal; attempts
// that bypass the proxy must die in the kernel (`--network none`: no route, no
// resolver), where nothing exists to audit them — nothing left the sandbox.

export interface Attempt {
  readonly name: string;
  readonly succeeded: boolean;
  readonly exitCode: number;
  readonly output: string;
}

export interface BypassOutcome {
  /** The way out that is allowed — a brokered call through the proxy — must work, or the refusals prove nothing. */
  readonly control: Attempt;
  readonly attempts: readonly Attempt[];
  /** Hosts whose denial should be in the audit trail (the attempts that reached the gateway). */
  readonly expectedAudited: readonly string[];
  /** Of those, the ones found as `decision=denied` audit events of the session. */
  readonly audited: readonly string[];
}

// RFC 5737 TEST-NET-1: never routed anywhere, so even a broken sandbox sends nothing real.
const TEST_NET_IP = '192.0.2.10';
const UNLISTED_HOST = 'unlisted.example.net';
const PROXY_VARS =
  /^(HTTPS?_PROXY|https?_proxy|NO_PROXY|no_proxy|SSL_CERT_FILE|CURL_CA_BUNDLE|GIT_SSL_CAINFO)=/;

async function exec(
  world: CredentiallessWorld,
  containerId: string,
  cmd: string[],
  env: string[] = [],
): Promise<{ exitCode: number; output: string }> {
  const exec = await world.docker.getContainer(containerId).exec({
    Cmd: cmd,
    Env: env,
    User: 'sandbox',
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  const sink = new PassThrough().on('data', (d: Buffer) => chunks.push(d));
  world.docker.modem.demuxStream(stream, sink, sink);
  await new Promise((resolve) => stream.on('end', resolve));
  return { exitCode: (await exec.inspect()).ExitCode ?? -1, output: Buffer.concat(chunks).toString().trim() };
}

// sandboxd's defaults (sandboxd/src/startup.rs), for when no child of it is alive to copy from.
const DEFAULT_PROXY = 'http://127.0.0.1:8877';
const DEFAULT_CA = '/etc/airlock/ca.pem';

/** The proxy settings sandboxd gives its children, read from one of them, else its defaults. */
async function proxyEnv(world: CredentiallessWorld, containerId: string): Promise<string[]> {
  const found = await exec(world, containerId, [
    'sh',
    '-c',
    'for p in /proc/[0-9]*; do if tr "\\0" "\\n" < "$p/environ" 2>/dev/null | grep -q "^HTTPS_PROXY="; then tr "\\0" "\\n" < "$p/environ"; exit 0; fi; done; exit 3',
  ]);
  if (found.exitCode === 0) return found.output.split('\n').filter((line) => PROXY_VARS.test(line));
  return [
    ...['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].map((n) => `${n}=${DEFAULT_PROXY}`),
    ...['SSL_CERT_FILE', 'CURL_CA_BUNDLE'].map((n) => `${n}=${DEFAULT_CA}`),
  ];
}

const curl = (url: string, ...extra: string[]) => [
  'curl',
  '-sS',
  '--max-time',
  '10',
  '-o',
  '/dev/null',
  '-w',
  'http %{http_code}\\n',
  ...extra,
  url,
];

/** Succeeded = got a 2xx/3xx answer from somewhere. */
const answered = (output: string) => /http [23]\d\d/.test(output);

export async function runBypassAttempts(
  world: CredentiallessWorld,
  sessionId: string,
  containerId: string,
  /** A brokered URL of the session's plan (its model API), for the positive control. */
  controlUrl = 'https://api.openai.com/v1/models',
): Promise<BypassOutcome> {
  const proxied = await proxyEnv(world, containerId);
  const bare = ['HTTPS_PROXY=', 'https_proxy=', 'HTTP_PROXY=', 'http_proxy='];
  const plan: Array<{
    name: string;
    cmd: string[];
    env: string[];
    check?: (o: string, code: number) => boolean;
  }> = [
    {
      name: 'direct TCP connect to an IP, around the proxy',
      cmd: curl(`http://${TEST_NET_IP}/`, '--noproxy', '*'),
      env: bare,
    },
    {
      name: "direct TCP connect to the Docker host's bridge address",
      cmd: curl('http://172.17.0.1:80/', '--noproxy', '*'),
      env: bare,
    },
    {
      name: 'DNS lookup of an outside name (libc resolver)',
      cmd: ['getent', 'ahosts', 'example.org'],
      env: bare,
      check: (_o, code) => code === 0,
    },
    {
      name: 'DNS lookup of an outside name (Node)',
      cmd: [
        'node',
        '-e',
        "require('dns').lookup('example.org',(e,a)=>{console.log(e?e.code:a);process.exit(e?1:0)})",
      ],
      env: bare,
      check: (_o, code) => code === 0,
    },
    {
      name: 'request with the proxy environment unset',
      cmd: curl(controlUrl),
      env: bare,
    },
    {
      name: 'plain HTTP to an IP through the proxy',
      cmd: curl(`http://${TEST_NET_IP}/`),
      env: proxied,
    },
    {
      name: 'CONNECT to an unlisted host through the proxy',
      cmd: curl(`https://${UNLISTED_HOST}/`),
      env: proxied,
    },
  ];
  const allowed = await exec(world, containerId, curl(controlUrl), proxied);
  const control = {
    name: 'brokered call through the proxy',
    succeeded: answered(allowed.output),
    ...allowed,
  };
  const attempts: Attempt[] = [];
  for (const step of plan) {
    const { exitCode, output } = await exec(world, containerId, step.cmd, step.env);
    const succeeded = step.check ? step.check(output, exitCode) : answered(output);
    attempts.push({ name: step.name, succeeded, exitCode, output });
  }

  const expectedAudited = [TEST_NET_IP, UNLISTED_HOST];
  let audited: string[] = [];
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const page = await world.api<{ items: Array<{ host: string | null; decision: string | null }> }>(
      'GET',
      `/orgs/${world.orgId}/audit?sessionId=${sessionId}&decision=denied&limit=200`,
    );
    const hosts = page.items.map((e) => (e.host ?? '').replace(/:\d+$/, ''));
    audited = expectedAudited.filter((h) => hosts.includes(h));
    if (audited.length === expectedAudited.length) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return { control, attempts, expectedAudited, audited };
}
