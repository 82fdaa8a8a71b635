// Prefixed, time-sortable identifiers: `org_01JD…`. 48 bits of milliseconds
// then 80 random bits, in Crockford base32 (26 chars), so ids sort by creation
// and a glance tells what a string names. WebCrypto only: Workers and Node.

export const ID_PREFIXES = {
  org: 'org',
  user: 'usr',
  membership: 'mbr',
  invite: 'inv',
  otp: 'otp',
  loginSession: 'lgn',
  apiToken: 'tok',
  connection: 'con',
  sandboxSecret: 'sec',
  signingKey: 'sgk',
  profile: 'prf',
  profileVersion: 'prv',
  snapshot: 'snp',
  session: 'ses',
  runtimePlan: 'srp',
  trigger: 'trg',
  delivery: 'dlv',
  conversation: 'cnv',
  runner: 'rnr',
  audit: 'aud',
  request: 'req',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;
export type IdPrefix = (typeof ID_PREFIXES)[IdKind];

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function encodeTime(ms: number): string {
  let out = '';
  let value = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[value % 32] + out;
    value = Math.floor(value / 32);
  }
  return out;
}

function encodeRandom(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte % 32];
  return out;
}

export function newId(kind: IdKind, now: number = Date.now()): string {
  return `${ID_PREFIXES[kind]}_${encodeTime(now)}${encodeRandom()}`;
}

const ID_PATTERN = /^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Whether `value` is an id of this kind (a cheap shape check before any query). */
export function isId(kind: IdKind, value: string): boolean {
  return value.startsWith(`${ID_PREFIXES[kind]}_`) && ID_PATTERN.test(value);
}
