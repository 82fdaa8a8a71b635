// What the gateway signs with the org's key (ADR 0120): only what git hands
// `gpg.ssh.program` for `git commit -S` and `git tag -s` — the SSHSIG
// namespace `git` and a payload that is a commit or tag object (git signs the
// object's bytes without its signature header) — and at most N signatures per
// session per sliding minute. Anything else would make the key a signing
// oracle for other namespaces (`file`), other protocols (an SSH login
// challenge) or other git payloads (push certificates). Pure functions over
// bytes; the signer (signer.ts) applies them.

export const SIGN_NAMESPACE = 'git';

/** Headers of a commit (octopus merges, a merged tag's `mergetag`) fit well within this. */
export const MAX_HEADER_BYTES = 64 * 1024;

/** Parents named in the audit detail; more are counted, not listed. */
const MAX_LISTED_PARENTS = 8;

export type SignRefusal = 'NAMESPACE_NOT_ALLOWED' | 'NOT_A_GIT_OBJECT' | 'RATE_LIMITED';

/** What the audit trail says about a signed object: hashes and names, never the message. */
export type SignedObject =
  | {
      readonly object: 'commit';
      readonly tree: string;
      readonly parents: string;
      readonly parentCount: number;
    }
  | { readonly object: 'tag'; readonly tag: string; readonly target: string; readonly targetType: string };

const HASH = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
// `Name <email> seconds ±hhmm` (git's ident line); the name may be empty.
const IDENT = /^(?:[^<>\n]* )?<[^<>\n]*> [0-9]{1,20} [+-][0-9]{4}$/;
// A ref name component as git check-ref-format allows it, loosely: no controls, spaces or ~^:?*[\.
const TAG_NAME = /^[^\0-\x20~^:?*[\\\x7f]{1,255}$/;
// Extra commit headers (encoding, mergetag, …): a lowercase key, then a value.
const EXTRA_HEADER = /^[a-z][a-z0-9-]{0,63}(?: .*)?$/;

function header(line: string | undefined, key: string): string | undefined {
  return line?.startsWith(`${key} `) === true ? line.slice(key.length + 1) : undefined;
}

function parseCommit(lines: readonly string[]): SignedObject | undefined {
  const tree = header(lines[0], 'tree');
  if (tree === undefined || !HASH.test(tree)) return undefined;
  let at = 1;
  const parents: string[] = [];
  for (let parent = header(lines[at], 'parent'); parent !== undefined; parent = header(lines[at], 'parent')) {
    if (!HASH.test(parent) || parent.length !== tree.length) return undefined;
    parents.push(parent);
    at++;
  }
  const author = header(lines[at], 'author');
  const committer = header(lines[at + 1], 'committer');
  if (author === undefined || committer === undefined || !IDENT.test(author) || !IDENT.test(committer))
    return undefined;
  for (const line of lines.slice(at + 2)) {
    // Continuation lines (a space first) belong to the header before them, e.g. `mergetag`.
    if (line.startsWith(' ')) continue;
    if (!EXTRA_HEADER.test(line) || /^(tree|parent|author|committer) /.test(line)) return undefined;
  }
  return {
    object: 'commit',
    tree,
    parents: parents.slice(0, MAX_LISTED_PARENTS).join(' '),
    parentCount: parents.length,
  };
}

function parseTag(lines: readonly string[]): SignedObject | undefined {
  const target = header(lines[0], 'object');
  const targetType = header(lines[1], 'type');
  const tag = header(lines[2], 'tag');
  const tagger = header(lines[3], 'tagger');
  if (
    lines.length !== 4 ||
    target === undefined ||
    !HASH.test(target) ||
    (targetType !== 'commit' && targetType !== 'tree' && targetType !== 'blob' && targetType !== 'tag') ||
    tag === undefined ||
    !TAG_NAME.test(tag) ||
    tagger === undefined ||
    !IDENT.test(tagger)
  )
    return undefined;
  return { object: 'tag', tag, target, targetType };
}

/**
 * The commit or tag a payload is, from its first bytes (`head`, at most MAX_HEADER_BYTES):
 * headers in git's order up to the blank line that starts the message. Undefined when it is
 * anything else.
 */
export function parseSignedObject(head: Uint8Array): SignedObject | undefined {
  const end = indexOfBlankLine(head);
  if (end < 0) return undefined;
  // Header bytes are ASCII in every part this checks; a stray byte elsewhere cannot match them.
  const lines = new TextDecoder().decode(head.subarray(0, end)).split('\n');
  return lines[0]?.startsWith('tree ') === true ? parseCommit(lines) : parseTag(lines);
}

function indexOfBlankLine(bytes: Uint8Array): number {
  for (let i = 0; i + 1 < bytes.length; i++) if (bytes[i] === 0x0a && bytes[i + 1] === 0x0a) return i;
  return -1;
}

/**
 * A sliding one-minute window of signing attempts: `times` are the attempts still in the window
 * (ms since the epoch, oldest first). Returns the window with `now` added, or how long to wait.
 */
export function admitSignature(
  times: readonly number[],
  now: number,
  perMinute: number,
): { ok: true; times: number[] } | { ok: false; retryAfterSeconds: number } {
  const recent = times.filter((t) => t > now - 60_000 && t <= now);
  if (recent.length >= perMinute) {
    const oldest = recent[recent.length - perMinute] ?? now;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + 60_000 - now) / 1000)) };
  }
  return { ok: true, times: [...recent, now] };
}
