import { DEFAULT_PORT, parseAuthority } from '@airlock/schema/plan';
import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { startSession } from './test-support/fixtures.ts';

// For any authority a sandbox can make up — in the CONNECT target or
// absolute-form URI, the TLS server name, the Host header and sandboxd's own
// report — the real gateway either refuses the request, or dials exactly the
// host and port that were matched. The plan allowlists `*.pkgs.example.org` and
// one loopback upstream by its exact address; the same stand-in's HTTPS port
// (recording into the same log) is never allowlisted and must never be reached.

const { upstreamHttp, upstreamHttps } = inject('standIns');
const allowed = new URL(upstreamHttp);
const canaryPort = new URL(upstreamHttps).port;

const piece = fc.constantFrom(
  '127.0.0.1',
  'localhost',
  'a.localhost',
  '[::1]',
  '[::ffff:127.0.0.1]',
  '127.1',
  '0x7f.0.0.1',
  '2130706433',
  'x',
  'X',
  '.pkgs.example.org',
  'pkgs.example.org',
  `:${allowed.port}`,
  `:${canaryPort}`,
  ':443',
  ':0',
  '#',
  '/',
  '?',
  '\\',
  '@',
  '%2e',
  ' ',
  '.',
  ':',
  '',
);
const hostile = fc.array(piece, { minLength: 1, maxLength: 6 }).map((p) => p.join(''));
/** Either a made-up value, or one that agrees with the target (so requests get through too). */
const other = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 2 },
  { arbitrary: fc.constant('='), weight: 2 },
  { arbitrary: hostile, weight: 1 },
);

const request = fc.record({
  scheme: fc.constantFrom('http' as const, 'https' as const),
  viaConnect: fc.boolean(),
  target: fc.oneof(
    { arbitrary: hostile, weight: 2 },
    { arbitrary: fc.constant(`127.0.0.1:${allowed.port}`), weight: 2 },
    { arbitrary: fc.constant('x.pkgs.example.org:443'), weight: 1 },
  ),
  sni: other,
  host: other,
  reported: other,
});

const tag = () => `p-${crypto.randomUUID()}`;

describe('any authority: refused, or dialled exactly as matched', () => {
  it('never reaches what the plan does not name, and reaches what it names only by that name', async () => {
    const { peer } = await startSession(() => [], {
      passthrough: ['*.pkgs.example.org', `${allowed.hostname}:${allowed.port}`],
    });
    let passed = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const parsed = parseAuthority(r.target);
        const agreeing = parsed.ok ? parsed.authority : null;
        const port = agreeing === null ? null : (agreeing.port ?? DEFAULT_PORT[r.scheme]);
        const pick = (v: string | undefined, same: string | null) => (v === '=' ? (same ?? undefined) : v);
        const seen = {
          [r.viaConnect ? 'connect' : 'uri']: r.target,
          sni: pick(r.sni, agreeing?.host ?? null),
          host: pick(r.host, r.target),
        };
        const reported = pick(r.reported, agreeing?.host ?? null);
        const t = tag();
        const meta = {
          method: 'GET',
          scheme: r.scheme,
          authority: {
            host: reported ?? agreeing?.host ?? null,
            port,
            seen: JSON.parse(JSON.stringify(seen)),
          },
          path: '/ok',
          headers: [['x-test-tag', t]],
        };
        const response = await peer.response(await peer.open('http', meta));
        const records = (await (await fetch(`${upstreamHttp}/__requests/${t}`)).json()) as {
          secure: boolean;
        }[];
        // The HTTPS port is in no plan entry: nothing ever reaches it.
        expect(records.filter((x) => x.secure)).toEqual([]);
        if (records.length > 0) {
          // Reached the allowlisted upstream: only by naming exactly it, over HTTP.
          expect(agreeing?.host).toBe(allowed.hostname);
          expect(port).toBe(Number(allowed.port));
          expect(r.scheme).toBe('http');
          expect(response.status).toBe(200);
          passed++;
        } else expect(response.status).not.toBe(200);
      }),
      { numRuns: 200 },
    );
    // The generator must let some requests through, or the property proves little.
    expect(passed).toBeGreaterThan(0);
  }, 120_000);
});
