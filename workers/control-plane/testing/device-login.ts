import type { Harness, Reply } from './harness.ts';

// What the device-login tests share: the CLI's two calls, made the way the CLI
// makes them (no Origin, a client description, its own address).

export interface Started {
  readonly deviceCode: string;
  readonly userCode: string;
  readonly verificationUri: string;
  readonly verificationUriComplete: string;
  readonly interval: number;
  readonly expiresIn: number;
}

export interface TokenProblem {
  readonly code: string;
  readonly error?: string;
  readonly interval?: number;
  readonly detail: string;
}

export interface Granted {
  readonly token: string;
  readonly orgId: string;
  readonly email: string;
  readonly apiToken: { id: string; name: string; expiresAt: string | null };
}

export const randomIp = () =>
  `198.18.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;

export async function startLogin(
  h: Harness,
  ip = randomIp(),
  client: Record<string, string> = { name: 'airlock CLI', version: '0.1.0', hostname: 'laptop' },
): Promise<Started> {
  const reply = h.disclosure(
    await h.call<Started>('POST', '/auth/device', {
      body: { client },
      headers: { 'cf-connecting-ip': ip, 'user-agent': 'airlock-cli/0.1.0' },
    }),
  );
  if (reply.status !== 200) throw new Error(`device start: ${reply.status} ${reply.text}`);
  h.secret(reply.json.deviceCode);
  return reply.json;
}

/** One poll, after moving the clock past the interval so it is never `slow_down` by accident. */
export async function poll(
  h: Harness,
  deviceCode: string,
  options: { ip?: string; advance?: number } = {},
): Promise<Reply<TokenProblem & Granted>> {
  h.advance(options.advance ?? 11);
  return h.call('POST', '/auth/device/token', {
    body: { deviceCode },
    headers: { 'cf-connecting-ip': options.ip ?? randomIp() },
  });
}
