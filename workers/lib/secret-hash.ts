// Hashes of bearer secrets we must recognise but never store: login-session
// cookies, API tokens, OTP codes, runner token ids. HMAC-SHA256 with the
// auth pepper, so a leaked table alone cannot be brute-forced offline.

/** Hash spaces, one per kind of secret. */
export const HASH_PURPOSE = {
  session: 'login-session',
  apiToken: 'api-token',
  otp: 'otp',
  runner: 'runner-jti',
  deviceCode: 'device-code',
  deviceUserCode: 'device-user-code',
} as const;

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function keyFor(pepper: string): Promise<CryptoKey> {
  let key = keys.get(pepper);
  if (key === undefined) {
    key = crypto.subtle.importKey('raw', encoder.encode(pepper), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ]);
    keys.set(pepper, key);
  }
  return key;
}

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** `purpose` separates hash spaces (a cookie hash never equals a token hash). */
export async function hashSecret(pepper: string, purpose: string, value: string): Promise<string> {
  return hex(
    await crypto.subtle.sign('HMAC', await keyFor(pepper), encoder.encode(`${purpose}\u0000${value}`)),
  );
}

/** Compares two strings in time independent of where they first differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** `bytes` of randomness, base64url. */
export function randomSecret(bytes = 32): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}

/** A uniformly random string of decimal digits. */
export function randomDigits(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 250 && out.length < length) out += String(byte % 10); // reject 250-255: no modulo bias
    }
  }
  return out;
}

/** What `runners.token_hash` holds for a runner token: the HMAC of its `jti` (compare on connect). */
export const runnerTokenHash = (pepper: string, jti: string) => hashSecret(pepper, HASH_PURPOSE.runner, jti);
