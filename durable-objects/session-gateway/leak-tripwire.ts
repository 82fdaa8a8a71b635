import type { HeaderList } from '@airlock/schema/tunnel';

// The leak tripwire (ADR 0125): does a request from the sandbox carry a secret
// to a place that secret does not belong? Pure: the gateway hands it the values
// it knows (the placeholder, and every credential it has resolved for this
// session with the connections they belong to) and the request's parts; it
// answers with where it found what, never with the value.
//
// Rules:
// - A placeholder is fine on every brokered route (the gateway replaces or
//   strips it there, and the upstream already gets a real credential from us);
//   anywhere else — an allowlisted (passthrough) host, a denied host — it is a
//   leak, except in an auth header (Authorization, X-Api-Key, …) to a denied
//   host: agent CLIs do that by themselves, and a denied host receives nothing.
// - A real credential is fine only on the routes of a connection it belongs to;
//   to another connection's route, a passthrough host or a denied host it is a leak.
// - Looked at: the authority, the path, the query, each header's name and value,
//   and the first BODY_SCAN_BYTES of the body.
// - Forms: the raw value; percent-decoded text (any mix of %XX, either case);
//   base64 in both alphabets, at each of the three alignments a value can have
//   inside a longer base64 string (so `Basic base64(user:key)` is caught), raw or
//   percent-encoded. Values shorter than MIN_SECRET_LENGTH are not looked for.
//
// Everything is compared as "binary strings" (one char per byte of UTF-8), so
// body bytes, header text and decoded %XX sequences compare alike.

/** How much of a request body is inspected, and held back from the upstream until it has been. */
export const BODY_SCAN_BYTES = 64 * 1024;
/** Real values shorter than this are not looked for: too many innocent strings would match. */
export const MIN_SECRET_LENGTH = 12;

export type LeakForm =
  | 'raw'
  | 'base64'
  | 'base64url'
  | 'url-encoded'
  | 'url-encoded base64'
  | 'url-encoded base64url';

export type LeakLocation =
  | { readonly where: 'authority' | 'path' | 'query' }
  /** `header` is null when the name itself is not safe to record (it carries a secret, or is odd). */
  | { readonly where: 'header'; readonly header: string | null }
  /** Byte offset in the body where the match starts (in the body as sent, before any decoding). */
  | { readonly where: 'body'; readonly offset: number };

export type LeakFinding = LeakLocation & {
  readonly leak: 'credential' | 'placeholder';
  /** The connection the leaked credential belongs to; null for a placeholder. */
  readonly connectionId: string | null;
  readonly form: LeakForm;
};

/** Where the request is going, as the route matcher decided. */
export type Destination =
  | { readonly kind: 'brokered'; readonly connectionId: string }
  | { readonly kind: 'passthrough' | 'denied' };

export interface KnownSecret {
  readonly value: string;
  /** Connections whose routes may carry it; null for a placeholder. */
  readonly connections: readonly string[] | null;
}

export interface RequestHead {
  readonly authority: string;
  /** Origin-form, as the sandbox sent it (path and query). */
  readonly path: string;
  readonly headers: HeaderList;
}

interface Needle {
  readonly text: string;
  readonly form: 'raw' | 'base64' | 'base64url';
}

interface Compiled {
  readonly secret: KnownSecret;
  readonly raw: string;
  readonly needles: readonly Needle[];
}

const encoder = new TextEncoder();
const ASCII = /^[\p{ASCII}]*$/u;

/** One char per byte. */
export function binaryString(bytes: Uint8Array): string {
  let out = '';
  for (let at = 0; at < bytes.length; at += 8192)
    out += String.fromCharCode(...bytes.subarray(at, Math.min(bytes.length, at + 8192)));
  return out;
}

const binaryOf = (text: string): string => (ASCII.test(text) ? text : binaryString(encoder.encode(text)));

/**
 * The strings that betray `value`: itself, and the part of its base64 encoding that does not depend
 * on what surrounds it, for each of the three alignments (the bytes before it in a longer string,
 * mod 3) and both alphabets. Base64 parts shorter than `minLength` are left out.
 */
export function encodedForms(value: string, minLength: number): Needle[] {
  const raw = binaryOf(value);
  const needles: Needle[] = [{ text: raw, form: 'raw' }];
  const seen = new Set([raw]);
  for (const shift of [0, 1, 2]) {
    const encoded = btoa('\0'.repeat(shift) + raw);
    // Groups holding a byte from before the value, or the padded tail, vary with the surroundings.
    const stable = encoded.slice(shift === 0 ? 0 : 4, Math.floor((shift + raw.length) / 3) * 4);
    if (stable.length < minLength) continue;
    const urlSafe = stable.replaceAll('+', '-').replaceAll('/', '_');
    for (const needle of [
      { text: stable, form: 'base64' },
      { text: urlSafe, form: 'base64url' },
    ] as const)
      if (!seen.has(needle.text)) {
        seen.add(needle.text);
        needles.push(needle);
      }
  }
  return needles;
}

const PERCENT = /%([0-9A-Fa-f]{2})/g;

function percentDecoded(text: string): string | null {
  if (!text.includes('%')) return null;
  const decoded = text.replace(PERCENT, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return decoded === text ? null : decoded;
}

/** The index in `text` of the char that became char `index` of its percent-decoding. */
function rawIndex(text: string, index: number): number {
  let at = 0;
  for (let seen = 0; seen < index && at < text.length; seen++)
    at += text[at] === '%' && /^[0-9A-Fa-f]{2}$/.test(text.slice(at + 1, at + 3)) ? 3 : 1;
  return at;
}

interface Hit {
  readonly secret: KnownSecret;
  readonly form: LeakForm;
  readonly index: number;
}

function search(text: string, secrets: readonly Compiled[]): Hit | null {
  for (const { secret, needles } of secrets)
    for (const needle of needles) {
      const index = text.indexOf(needle.text);
      if (index >= 0) return { secret, form: needle.form, index };
    }
  const decoded = percentDecoded(text);
  if (decoded === null) return null;
  for (const { secret, needles } of secrets)
    for (const needle of needles) {
      const index = decoded.indexOf(needle.text);
      if (index >= 0)
        return {
          secret,
          form: needle.form === 'raw' ? 'url-encoded' : `url-encoded ${needle.form}`,
          index: rawIndex(text, index),
        };
    }
  return null;
}

/** Where clients put their API key: a placeholder there, headed for a denied host, is not flagged. */
const AUTH_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
]);

const RECORDABLE_NAME = /^[a-z0-9-]{1,64}$/;
/** A header name sharing this many characters with a secret is not written to the audit. */
const NAME_FRAGMENT = 8;

export class LeakTripwire {
  readonly #secrets: readonly Compiled[];

  constructor(secrets: readonly KnownSecret[], minLength = MIN_SECRET_LENGTH) {
    this.#secrets = secrets
      .filter((s) => s.value.length >= minLength)
      .map((secret) => ({
        secret,
        raw: binaryOf(secret.value),
        needles: encodedForms(secret.value, minLength),
      }));
  }

  /**
   * The whole request: its head first, then — only if a secret could still leak to `to` — the
   * body's first BODY_SCAN_BYTES, which `body` resolves once they have arrived (null: no body).
   */
  async inspect(
    head: RequestHead,
    body: ((limit: number) => Promise<Uint8Array>) | null,
    to: Destination,
  ): Promise<LeakFinding | null> {
    const found = this.inspectHead(head, to);
    if (found !== null || body === null || this.#applicable(to).length === 0) return found;
    return this.inspectBody(await body(BODY_SCAN_BYTES), to);
  }

  /** The request line and headers: the authority, path, query, and every header name and value. */
  inspectHead(head: RequestHead, to: Destination): LeakFinding | null {
    const secrets = this.#applicable(to);
    if (secrets.length === 0) return null;
    const query = head.path.indexOf('?');
    const parts = [
      ['authority', head.authority],
      ['path', query < 0 ? head.path : head.path.slice(0, query)],
      ['query', query < 0 ? '' : head.path.slice(query + 1)],
    ] as const;
    for (const [where, text] of parts) {
      const hit = search(binaryOf(text), secrets);
      if (hit !== null) return finding(hit, { where });
    }
    // Agent CLIs send their configured key, the placeholder, in the usual auth header to their
    // vendor's other hosts on their own (Codex: chatgpt.com). Such a host, when denied, gets
    // nothing at all: that is a plain denial, not a leak to flag.
    const credentialsOnly =
      to.kind === 'denied' ? secrets.filter((s) => s.secret.connections !== null) : secrets;
    for (const [name, value] of head.headers) {
      const inAuth = AUTH_HEADERS.has(name.toLowerCase());
      const inValue = search(binaryOf(value), inAuth ? credentialsOnly : secrets);
      if (inValue !== null) return finding(inValue, { where: 'header', header: this.#recordable(name) });
      // Names travel lowercased (sandboxd's HTTP parser), so a value in a name is looked for so too.
      const lower = binaryOf(name).toLowerCase();
      const inName = secrets.find((s) => lower.includes(s.raw.toLowerCase()));
      if (inName !== undefined)
        return finding({ secret: inName.secret, form: 'raw', index: 0 }, { where: 'header', header: null });
    }
    return null;
  }

  /** The first BODY_SCAN_BYTES of the body (what is passed in beyond that is ignored). */
  inspectBody(prefix: Uint8Array, to: Destination): LeakFinding | null {
    const secrets = this.#applicable(to);
    if (secrets.length === 0 || prefix.length === 0) return null;
    const hit = search(binaryString(prefix.subarray(0, BODY_SCAN_BYTES)), secrets);
    return hit === null ? null : finding(hit, { where: 'body', offset: hit.index });
  }

  #applicable(to: Destination): Compiled[] {
    return this.#secrets.filter(({ secret }) =>
      secret.connections === null
        ? to.kind !== 'brokered'
        : !(to.kind === 'brokered' && secret.connections.includes(to.connectionId)),
    );
  }

  /** A header name for the audit: a plain token that shares no run of characters with a secret. */
  #recordable(name: string): string | null {
    const lower = name.toLowerCase();
    if (!RECORDABLE_NAME.test(lower)) return null;
    for (let at = 0; at + NAME_FRAGMENT <= name.length; at++) {
      const fragment = name.slice(at, at + NAME_FRAGMENT);
      if (this.#secrets.some((s) => s.raw.includes(fragment))) return null;
    }
    return lower;
  }
}

function finding(hit: Hit, location: LeakLocation): LeakFinding {
  const { secret } = hit;
  return {
    ...location,
    leak: secret.connections === null ? 'placeholder' : 'credential',
    connectionId: secret.connections?.[0] ?? null,
    form: hit.form,
  };
}

/**
 * Whether `text` carries `value` in any form the tripwire knows (raw, percent-encoded, base64 at
 * any alignment): the test the gateway applies to response headers before the sandbox sees them.
 * (Nothing is cached: a module-level cache would keep credentials of every session in the isolate.)
 */
export function carriesValue(text: string, value: string, minLength: number): boolean {
  if (value.length < minLength) return false;
  const compiled = { secret: { value, connections: null }, raw: '', needles: encodedForms(value, minLength) };
  return search(binaryOf(text), [compiled]) !== null;
}
