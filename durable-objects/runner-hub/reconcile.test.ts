import type { SandboxReport } from '@airlock/schema/runner';
import { describe, expect, it } from 'vitest';
import { reconcile } from './reconcile.ts';

const report = (sandboxId: string, state: SandboxReport['state'] = 'running'): SandboxReport => ({
  sandboxId,
  containerId: `c-${sandboxId}`,
  assignmentId: `${sandboxId}:create`,
  state,
  exitCode: null,
});

describe('reconcile', () => {
  it('keeps what both sides know, destroys what only the runner has, writes off what only the hub has', () => {
    const plan = reconcile(
      'heartbeat',
      [
        { sandboxId: 'ses_a', state: 'running' },
        { sandboxId: 'ses_b', state: 'exited' },
        { sandboxId: 'ses_c', state: 'destroyed' },
      ],
      [],
      { sandboxes: [report('ses_a'), report('ses_c'), report('ses_x')], inFlight: [] },
    );
    expect(plan.present.map((s) => s.sandboxId)).toEqual(['ses_a']);
    expect(plan.orphans.map((s) => s.sandboxId)).toEqual(['ses_c', 'ses_x']);
    expect(plan.missing).toEqual(['ses_b']);
    expect(plan.deliver).toEqual([]);
    expect(plan.interrupted).toEqual([]);
  });

  it('leaves sandboxes with work in motion alone', () => {
    const plan = reconcile(
      'heartbeat',
      [
        { sandboxId: 'ses_a', state: 'running' },
        { sandboxId: 'ses_b', state: 'creating' },
      ],
      [
        { id: 'ses_a:destroy', kind: 'destroy', sandboxId: 'ses_a', state: 'accepted' },
        { id: 'ses_n:create', kind: 'create', sandboxId: 'ses_n', state: 'accepted' },
      ],
      { sandboxes: [report('ses_n', 'created')], inFlight: ['ses_a:destroy', 'ses_n:create'] },
    );
    expect(plan.missing).toEqual([]);
    expect(plan.orphans).toEqual([]);
  });

  it('on hello: sends again what the runner is not running, except an exec, which it fails', () => {
    const plan = reconcile(
      'hello',
      [{ sandboxId: 'ses_a', state: 'running' }],
      [
        { id: 'p', kind: 'exec', sandboxId: 'ses_a', state: 'pending' },
        { id: 'd', kind: 'stop', sandboxId: 'ses_a', state: 'delivered' },
        { id: 'x', kind: 'exec', sandboxId: 'ses_a', state: 'accepted' },
        { id: 'r', kind: 'exec', sandboxId: 'ses_a', state: 'accepted' },
      ],
      { sandboxes: [report('ses_a')], inFlight: ['r'] },
    );
    expect(plan.deliver).toEqual(['p', 'd']);
    expect(plan.interrupted).toEqual(['x']);
  });
});
