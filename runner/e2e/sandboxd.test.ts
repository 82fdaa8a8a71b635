import { newId } from '@airlock/schema/ids';
import { describe, expect, it } from 'vitest';
import {
  docker,
  dockerExec,
  e2e,
  hubStatus,
  must,
  provider,
  type Ref,
  useRunner,
  waitUntil,
} from './fixture.ts';

// The image's default command: sandboxd, started by the runner with its
// startup input on stdin, dials the gateway through the runner's socket
// relay and reaches the Worker's /tunnel/<session> with its bootstrap token.
// (The gateway itself is the session gateway's business; the harness only
// records the upgrade.)

const t = useRunner();

describe('sandboxd in a Docker sandbox', () => {
  it('starts from its stdin startup input and dials the Worker’s tunnel through the relay', async () => {
    await waitUntil(
      'the runner to be online',
      async () => (await hubStatus(t.runner.runnerId)).connected === 1,
    );
    const sessionId = newId('session');
    const ref = await must(
      provider<Ref>('create', {
        input: {
          operationId: 'create',
          orgId: t.runner.orgId,
          sandboxId: sessionId,
          image: t.image,
          resources: { cpus: 0.5, memoryMb: 256, pids: 256, diskMb: 512 },
          tunnelSessionId: sessionId,
        },
      }),
    );
    const startup = {
      sessionId,
      bootstrapToken: 'live-bootstrap-token',
      gateway: { unixSocket: '/run/airlock/gateway/gateway.sock', path: `/tunnel/${sessionId}` },
      env: { OPENAI_API_KEY: 'airlock-brokered' },
    };
    await must(provider('start', { ref, input: { operationId: 'start', startup } }));

    const upgrades = await waitUntil('sandboxd’s tunnel upgrade to reach the Worker', async () => {
      const response = await fetch(`${e2e().workerUrl}/runner/__test/tunnel-upgrades/${sessionId}`);
      const seen = (await response.json()) as Array<Record<string, string | null>>;
      return seen.length > 0 ? seen : undefined;
    });
    expect(upgrades[0]).toEqual({
      path: `/tunnel/${sessionId}`,
      host: new URL(e2e().workerUrl).host,
      authorization: 'Bearer live-bootstrap-token',
    });

    const info = await docker.getContainer(ref.externalId ?? '').inspect();
    expect(info.State.Running).toBe(true);
    expect(info.Config.Cmd ?? []).toEqual([]);
    // sandboxd runs as root and installed its per-sandbox CA; the token is nowhere on disk.
    const ps = await dockerExec(ref.externalId ?? '', ['ps', '-o', 'user=,args=', '-C', 'sandboxd']);
    expect(ps.stdout).toMatch(/^root\s+\/usr\/local\/bin\/sandboxd run/m);
    expect((await dockerExec(ref.externalId ?? '', ['test', '-s', '/etc/airlock/ca.pem'])).exitCode).toBe(0);
    const grep = await dockerExec(ref.externalId ?? '', [
      'grep',
      '-rl',
      'live-bootstrap-token',
      '/etc',
      '/run',
      '/tmp',
      '/workspace',
      '/home',
    ]);
    expect(grep.stdout).toBe('');

    await must(provider('destroy', { ref, input: { operationId: 'destroy' } }));
  });
});
