// PEM private keys for WebCrypto, which imports only PKCS#8. GitHub hands out
// App keys as PKCS#1 (`BEGIN RSA PRIVATE KEY`); those are wrapped in a PKCS#8
// envelope (RFC 5208) here rather than asking every admin to convert them.

const RSA_ALGORITHM_ID = Uint8Array.of(
  0x30,
  0x0d,
  0x06,
  0x09,
  0x2a,
  0x86,
  0x48,
  0x86,
  0xf7,
  0x0d,
  0x01,
  0x01,
  0x01,
  0x05,
  0x00,
);

function derLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function tlv(tag: number, body: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(tag), derLength(body.length), body);
}

function base64Decode(text: string): Uint8Array {
  const binary = atob(text.replace(/\s+/g, ''));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export class PemError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PemError';
  }
}

/** DER of a PKCS#8 private key from a PEM in PKCS#8 or PKCS#1 (RSA) form. */
export function pkcs8FromPem(pem: string): Uint8Array<ArrayBuffer> {
  const match = /-----BEGIN (RSA )?PRIVATE KEY-----([\s\S]+?)-----END \1PRIVATE KEY-----/.exec(pem);
  if (match === null)
    throw new PemError('not a PEM private key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)');
  let der: Uint8Array;
  try {
    der = base64Decode(match[2] ?? '');
  } catch {
    throw new PemError('the PEM body is not base64');
  }
  if (match[1] === undefined) return concat(der);
  return concat(tlv(0x30, concat(Uint8Array.of(0x02, 0x01, 0x00), RSA_ALGORITHM_ID, tlv(0x04, der))));
}
