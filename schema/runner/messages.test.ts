import { describe, expect, it } from 'vitest';
import { Assignment } from './assignments.ts';
import { HubMessage, MAX_RUNNER_MESSAGE_BYTES, parseMessage, RunnerMessage } from './messages.ts';

const SES = 'ses_01JD0000000000000000000000';

describe('runner protocol', () => {
  it('parses a valid message and fills defaults', () => {
    const parsed = parseMessage(
      HubMessage,
      JSON.stringify({
        type: 'assign',
        assignment: { id: `${SES}:exec`, kind: 'exec', sandboxId: SES, command: ['true'] },
      }),
    );
    expect(parsed).toEqual({
      ok: true,
      message: {
        type: 'assign',
        assignment: {
          id: `${SES}:exec`,
          kind: 'exec',
          sandboxId: SES,
          command: ['true'],
          user: 'sandbox',
          env: {},
          timeoutSeconds: 600,
        },
      },
    });
  });

  it('says what is wrong instead of throwing', () => {
    expect(parseMessage(RunnerMessage, new ArrayBuffer(4))).toEqual({
      ok: false,
      error: expect.stringContaining('binary'),
    });
    expect(parseMessage(RunnerMessage, '{nope')).toEqual({ ok: false, error: 'not JSON' });
    expect(parseMessage(RunnerMessage, 'x'.repeat(MAX_RUNNER_MESSAGE_BYTES + 1))).toEqual({
      ok: false,
      error: 'message too large',
    });
    expect(parseMessage(RunnerMessage, JSON.stringify({ type: 'accepted', id: 'short' }))).toEqual({
      ok: false,
      error: expect.stringMatching(/^id: /),
    });
    expect(
      parseMessage(RunnerMessage, JSON.stringify({ type: 'accepted', id: `${SES}:x`, extra: 1 })).ok,
    ).toBe(false);
  });

  it('accepts only session or snapshot sandboxes, sane resources and non-secret-shaped env names', () => {
    const create = {
      id: `${SES}:create`,
      kind: 'create',
      sandboxId: SES,
      orgId: 'org_01JD0000000000000000000000',
      image: 'airlock/sandbox-base:latest',
      resources: { cpus: 0.5, memoryMb: 512, pids: 256, diskMb: 1024 },
    };
    expect(Assignment.safeParse(create).success).toBe(true);
    expect(Assignment.safeParse({ ...create, purpose: 'build' }).success).toBe(true);
    expect(Assignment.safeParse({ ...create, purpose: 'other' }).success).toBe(false);
    // No sandbox without a disk limit.
    expect(
      Assignment.safeParse({ ...create, resources: { cpus: 0.5, memoryMb: 512, pids: 256 } }).success,
    ).toBe(false);
    expect(Assignment.safeParse({ ...create, sandboxId: 'usr_01JD0000000000000000000000' }).success).toBe(
      false,
    );
    expect(
      Assignment.safeParse({ ...create, resources: { cpus: 0, memoryMb: 512, pids: 256, diskMb: 1024 } })
        .success,
    ).toBe(false);
    expect(Assignment.safeParse({ ...create, env: { 'BAD-NAME': 'x' } }).success).toBe(false);
  });
});
