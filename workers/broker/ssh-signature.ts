// OpenSSH signatures (PROTOCOL.sshsig), as `ssh-keygen -Y sign` writes them:
// Ed25519 over the SSHSIG "signed data" that embeds SHA-512(message), wrapped
// in the armored blob git expects for `gpg.format = ssh`.

const encoder = new TextEncoder();
const MAGIC = encoder.encode('SSHSIG');

function sshString(value: Uint8Array | string): Uint8Array {
  const bytes = typeof value === 'string' ? encoder.encode(value) : value;
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
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

export function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The wire form of an Ed25519 public key (`string "ssh-ed25519" || string key`). */
export function ed25519PublicBlob(raw: Uint8Array): Uint8Array {
  return concat(sshString('ssh-ed25519'), sshString(raw));
}

/** `ssh-ed25519 AAAA… comment`, an authorized_keys / allowed_signers line. */
export function ed25519PublicLine(raw: Uint8Array, comment: string): string {
  return `ssh-ed25519 ${base64(ed25519PublicBlob(raw))} ${comment}`;
}

/** What the key signs: the preamble, namespace, hash algorithm and the message digest. */
export function signedData(namespace: string, sha512: Uint8Array): Uint8Array<ArrayBuffer> {
  return concat(MAGIC, sshString(namespace), sshString(''), sshString('sha512'), sshString(sha512));
}

export function armor(publicRaw: Uint8Array, namespace: string, signature: Uint8Array): string {
  const blob = concat(
    MAGIC,
    Uint8Array.of(0, 0, 0, 1),
    sshString(ed25519PublicBlob(publicRaw)),
    sshString(namespace),
    sshString(''),
    sshString('sha512'),
    sshString(concat(sshString('ssh-ed25519'), sshString(signature))),
  );
  const text = base64(blob);
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 70) lines.push(text.slice(i, i + 70));
  return `-----BEGIN SSH SIGNATURE-----\n${lines.join('\n')}\n-----END SSH SIGNATURE-----\n`;
}

export async function signSshsig(
  privateKey: CryptoKey,
  publicRaw: Uint8Array,
  namespace: string,
  sha512: Uint8Array,
): Promise<string> {
  const signature = new Uint8Array(
    await crypto.subtle.sign('Ed25519', privateKey, signedData(namespace, sha512)),
  );
  return armor(publicRaw, namespace, signature);
}
