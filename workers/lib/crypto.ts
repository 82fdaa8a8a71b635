import type { Config } from '@airlock/config';

// Connection credentials (and other sealed values) at rest: AES-256-GCM with
// the active, versioned master key (WebCrypto; runs in Workers and Node). The
// key version is stored beside the ciphertext so rotation can re-encrypt row
// by row, and the row's id is bound in as additional data so a ciphertext
// copied onto another row does not decrypt.

export interface Sealed {
  readonly ciphertext: string;
  readonly nonce: string;
  readonly keyVersion: number;
}

export class SealError extends Error {
  readonly code: 'unknown_key_version' | 'tampered';
  constructor(code: 'unknown_key_version' | 'tampered', message: string) {
    super(message);
    this.name = 'SealError';
    this.code = code;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export class Sealer {
  readonly #keys = new Map<number, Promise<CryptoKey>>();
  readonly #raw: Readonly<Record<string, string>>;
  readonly activeVersion: number;

  constructor(config: Config['integrations']) {
    this.#raw = config.master_keys;
    this.activeVersion = config.active_master_key_version;
  }

  #key(version: number): Promise<CryptoKey> {
    let key = this.#keys.get(version);
    if (!key) {
      // The version comes from a stored ciphertext: configured keys only (ADR 0100).
      const raw = Object.hasOwn(this.#raw, String(version)) ? this.#raw[String(version)] : undefined;
      if (raw === undefined)
        throw new SealError('unknown_key_version', `master key version ${version} is not configured`);
      key = crypto.subtle.importKey('raw', fromBase64(raw), { name: 'AES-GCM' }, false, [
        'encrypt',
        'decrypt',
      ]);
      this.#keys.set(version, key);
    }
    return key;
  }

  /** Encrypt `plaintext` for the row `context` (e.g. the connection id) with the active key. */
  async seal(plaintext: string, context: string): Promise<Sealed> {
    const nonce = crypto.getRandomValues(new Uint8Array(12));
    const ciphertext = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: encoder.encode(context) },
      await this.#key(this.activeVersion),
      encoder.encode(plaintext),
    );
    return {
      ciphertext: toBase64(new Uint8Array(ciphertext)),
      nonce: toBase64(nonce),
      keyVersion: this.activeVersion,
    };
  }

  async open(sealed: Sealed, context: string): Promise<string> {
    const key = await this.#key(sealed.keyVersion);
    try {
      const plaintext = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: fromBase64(sealed.nonce), additionalData: encoder.encode(context) },
        key,
        fromBase64(sealed.ciphertext),
      );
      return decoder.decode(plaintext);
    } catch {
      throw new SealError(
        'tampered',
        'sealed value does not authenticate (tampered, or sealed for another row)',
      );
    }
  }

  /** Re-encrypt with the active key when sealed with an older one; unchanged otherwise. */
  async reseal(sealed: Sealed, context: string): Promise<Sealed> {
    if (sealed.keyVersion === this.activeVersion) return sealed;
    return this.seal(await this.open(sealed, context), context);
  }
}
