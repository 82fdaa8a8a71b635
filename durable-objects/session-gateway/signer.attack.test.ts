import { CloseCode } from '@airlock/schema/tunnel';
import { describe, expect, it } from 'vitest';
import { auditRows, startSession } from './test-support/fixtures.ts';

// Attack: root inside the sandbox speaks the tunnel directly and opens `sign`
// streams of its choosing, to turn the org's signing key into a general
// signing oracle — another SSHSIG namespace (`file`, a custom one), or data
// that is not a commit (an SSH authentication challenge, a push certificate,
// any blob), or thousands of signatures. The gateway signs only git commit
// and tag objects in the `git` namespace, at a bounded rate per session, and
// audits each one by its object summary (ADR 0120).

const encode = (text: string) => new TextEncoder().encode(text);
const TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const PARENT = 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3';
const PARENT2 = 'de9f2c7fd25e1b3afad3e85a0bd17d9b100db4b3';
const WHO = 'Dev <dev@example.test> 1764000000 +0000';
const commit = (message: string, extra = '') =>
  encode(
    `tree ${TREE}\nparent ${PARENT}\nparent ${PARENT2}\nauthor ${WHO}\ncommitter ${WHO}\n${extra}\n${message}`,
  );
const tag = (name: string) =>
  encode(`object ${PARENT}\ntype commit\ntag ${name}\ntagger ${WHO}\n\nrelease ${name}\n`);

/** What an SSH client signs to authenticate (RFC 4252 §7): binary, not a git object. */
function userauthChallenge(): Uint8Array {
  const parts: Uint8Array[] = [];
  const string = (bytes: Uint8Array) => {
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, bytes.length);
    parts.push(length, bytes);
  };
  string(crypto.getRandomValues(new Uint8Array(32))); // session identifier
  parts.push(new Uint8Array([50])); // SSH_MSG_USERAUTH_REQUEST
  string(encode('git'));
  string(encode('ssh-connection'));
  string(encode('publickey'));
  parts.push(new Uint8Array([1]));
  string(encode('ssh-ed25519'));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return String(error);
  }
  throw new Error('expected the gateway to refuse');
}

describe('the signing oracle', () => {
  it('refuses every namespace but git, and says so', async () => {
    const { peer, stub, world } = await startSession(() => []);
    for (const namespace of ['file', 'ssh-auth', 'git-push', 'Git']) {
      const id = await peer.open('sign', { namespace, format: 'ssh' }, commit('namespaced\n'));
      const why = await refusal(peer.response(id));
      expect(why).toContain(`(${CloseCode.DENIED})`);
      expect(why).toContain('NAMESPACE_NOT_ALLOWED');
      expect(why).toContain('"git"');
    }
    await stub.flushAudit();
    const rows = await auditRows(world.sessionId);
    expect(rows.map((r) => [r.action, r.decision, r.detail.error])).toEqual(
      Array(4).fill(['commit.signed', 'denied', 'NAMESPACE_NOT_ALLOWED']),
    );
  });

  it('refuses payloads that are not a git commit or tag object', async () => {
    const { peer, stub, world } = await startSession(() => []);
    const payloads: Record<string, Uint8Array> = {
      blob: crypto.getRandomValues(new Uint8Array(4096)),
      text: encode('please sign this release manifest\n'),
      'ssh auth challenge': userauthChallenge(),
      'push certificate': encode(
        `certificate version 0.1\npusher ${WHO}\npushee https://github.com/acme/widgets.git\nnonce 1764000000-abc\n\n${PARENT} ${PARENT2} refs/heads/main\n`,
      ),
      'commit without committer': encode(`tree ${TREE}\nauthor ${WHO}\n\nno committer\n`),
      'tree that is not a hash': encode(`tree HEAD\nauthor ${WHO}\ncommitter ${WHO}\n\nx\n`),
      'parent of another hash length': encode(
        `tree ${TREE}\nparent ${'b'.repeat(64)}\nauthor ${WHO}\ncommitter ${WHO}\n\nx\n`,
      ),
      'no message separator': encode(`tree ${TREE}\nauthor ${WHO}\ncommitter ${WHO}\n`),
      'tag without tagger': encode(`object ${PARENT}\ntype commit\ntag v1\n\nmsg\n`),
      'commit header after the message': encode(
        `hello\n\ntree ${TREE}\nauthor ${WHO}\ncommitter ${WHO}\n\nx\n`,
      ),
    };
    for (const [name, payload] of Object.entries(payloads)) {
      const id = await peer.open('sign', { namespace: 'git', format: 'ssh' }, payload);
      const why = await refusal(peer.response(id));
      expect(why, name).toContain(`(${CloseCode.DENIED})`);
      expect(why, name).toContain('NOT_A_GIT_OBJECT');
    }
    await stub.flushAudit();
    const rows = await auditRows(world.sessionId);
    expect(rows).toHaveLength(Object.keys(payloads).length);
    for (const row of rows)
      expect(row).toMatchObject({ decision: 'denied', detail: { error: 'NOT_A_GIT_OBJECT' } });
  });

  it('signs commits and tags, auditing their summary but never the message', async () => {
    const { peer, stub, world } = await startSession(() => []);
    const secretMessage = `message-${crypto.randomUUID()}`;
    const signed = await peer.response(
      await peer.open(
        'sign',
        { namespace: 'git', format: 'ssh' },
        commit(`${secretMessage}\n`, 'encoding ISO-8859-1\nmergetag object abc\n type commit\n'),
      ),
    );
    expect(signed.text).toContain('-----BEGIN SSH SIGNATURE-----');
    const tagged = await peer.response(
      await peer.open('sign', { namespace: 'git', format: 'ssh' }, tag('v1.2.3')),
    );
    expect(tagged.text).toContain('-----BEGIN SSH SIGNATURE-----');
    await stub.flushAudit();
    const rows = await auditRows(world.sessionId);
    expect(rows.map((r) => [r.decision, r.detail])).toEqual([
      [
        'brokered',
        expect.objectContaining({
          namespace: 'git',
          object: 'commit',
          tree: TREE,
          parents: `${PARENT} ${PARENT2}`,
          parentCount: 2,
        }),
      ],
      [
        'brokered',
        expect.objectContaining({
          namespace: 'git',
          object: 'tag',
          tag: 'v1.2.3',
          target: PARENT,
          targetType: 'commit',
        }),
      ],
    ]);
    expect(JSON.stringify(rows)).not.toContain(secretMessage);
  });

  it('limits signatures per session per minute, with a clear error past it', async () => {
    const { peer, stub, world } = await startSession(() => [], { settings: { signaturesPerMinute: 3 } });
    for (let i = 0; i < 3; i++) {
      const ok = await peer.response(
        await peer.open('sign', { namespace: 'git', format: 'ssh' }, commit(`c${i}\n`)),
      );
      expect(ok.text).toContain('-----BEGIN SSH SIGNATURE-----');
    }
    const why = await refusal(
      peer.response(await peer.open('sign', { namespace: 'git', format: 'ssh' }, commit('one too many\n'))),
    );
    expect(why).toContain(`(${CloseCode.DENIED})`);
    expect(why).toContain('RATE_LIMITED');
    expect(why).toContain('3 signatures per minute');
    // Another session of the same org has its own budget.
    const other = await startSession(() => [], { settings: { signaturesPerMinute: 3 } });
    const fresh = await other.peer.response(
      await other.peer.open('sign', { namespace: 'git', format: 'ssh' }, commit('elsewhere\n')),
    );
    expect(fresh.text).toContain('-----BEGIN SSH SIGNATURE-----');
    await stub.flushAudit();
    const rows = await auditRows(world.sessionId);
    expect(rows.map((r) => [r.decision, r.detail.error ?? null])).toEqual([
      ['brokered', null],
      ['brokered', null],
      ['brokered', null],
      ['denied', 'RATE_LIMITED'],
    ]);
  });
});
