import { describe, expect, it } from 'vitest';
import * as db from '../db/tables/enums.ts';
import { CronError, isTimeZone, latestRun, nextRuns, parseSchedule, scheduleProblem } from './cron.ts';
import * as api from './enums.ts';
import { CreateSession, CreateTrigger } from './index.ts';
import { can, canAssignRole, ROLE_PERMISSIONS } from './permissions.ts';

describe('API enums', () => {
  it('spell every state exactly as the database does', () => {
    for (const name of Object.keys(api).filter((k) => /^[A-Z_]+S$/.test(k)))
      expect((api as Record<string, unknown>)[name], name).toEqual((db as Record<string, unknown>)[name]);
  });
});

describe('permissions', () => {
  it('give members everyday work and keep administration to owners and admins', () => {
    expect(can('member', 'sessions.start')).toBe(true);
    expect(can('member', 'profiles.edit')).toBe(true);
    expect(can('member', 'profiles.publish')).toBe(false);
    expect(can('member', 'connections.manage')).toBe(false);
    expect(can('member', 'audit.read')).toBe(false);
    expect(ROLE_PERMISSIONS.admin).toEqual(ROLE_PERMISSIONS.owner);
    expect(canAssignRole('admin', 'member', 'admin')).toBe(true);
    expect(canAssignRole('admin', 'member', 'owner')).toBe(false);
    expect(canAssignRole('admin', 'owner', undefined)).toBe(false);
    expect(canAssignRole('owner', 'admin', 'owner')).toBe(true);
    expect(canAssignRole('member', 'member', 'member')).toBe(false);
  });
});

describe('cron', () => {
  it('reads five-field expressions in a time zone, with names, ranges, steps and nicknames', () => {
    const from = new Date('2026-03-27T12:00:00Z'); // a Friday, two days before Berlin moves to summer time
    expect(nextRuns('30 9 * * MON-FRI', 'Europe/Berlin', 2, from).map((d) => d.toISOString())).toEqual([
      '2026-03-30T07:30:00.000Z', // after the change: 09:30 CEST is 07:30 UTC
      '2026-03-31T07:30:00.000Z',
    ]);
    expect(nextRuns('@daily', 'UTC', 1, from)[0]?.toISOString()).toBe('2026-03-28T00:00:00.000Z');
    expect(latestRun('*/15 * * * *', 'UTC', new Date('2026-03-27T12:14:59Z'))?.toISOString()).toBe(
      '2026-03-27T12:00:00.000Z',
    );
    // A run time exactly at the reference counts as the latest.
    expect(latestRun('0 12 * * *', 'UTC', from)?.toISOString()).toBe('2026-03-27T12:00:00.000Z');
    // Both day fields restricted: either may match (cron's OR rule).
    expect(nextRuns('0 0 1 * MON', 'UTC', 2, from).map((d) => d.toISOString())).toEqual([
      '2026-03-30T00:00:00.000Z',
      '2026-04-01T00:00:00.000Z',
    ]);
  });

  it('rejects malformed expressions with the field at fault, and ones that never fire', () => {
    expect(scheduleProblem('* * * *', 'UTC')).toMatch(/five, six, or seven/);
    expect(scheduleProblem('* * * * * *', 'UTC')).toMatch(/requires exactly 5 parts/);
    expect(scheduleProblem('60 * * * *', 'UTC')).toBe('Invalid value for minute: 60');
    expect(scheduleProblem('5-1 * * * *', 'UTC')).toMatch(/From value is larger/);
    expect(scheduleProblem('0 0 30 2 *', 'UTC')).toBe('the expression never fires');
    expect(() => parseSchedule('*/0 * * * *')).toThrow(CronError);
    expect(scheduleProblem('0 9 * * MON', 'America/New_York')).toBeNull();
  });

  it('knows IANA time zones', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});

describe('request schemas', () => {
  it('need a prompt for headless sessions and a signing secret for Slack webhooks', () => {
    expect(CreateSession.safeParse({ profileId: 'prf_x', mode: 'headless' }).success).toBe(false);
    expect(CreateSession.parse({ profileId: 'prf_x' })).toEqual({ profileId: 'prf_x', mode: 'interactive' });
    const slack = {
      kind: 'webhook',
      name: 'mentions',
      profileId: 'prf_x',
      config: { source: 'slack', events: ['app_mention'], promptTemplate: 'Help: {{text}}' },
    };
    expect(CreateTrigger.safeParse(slack).success).toBe(false);
    expect(CreateTrigger.safeParse({ ...slack, signingSecret: 'a'.repeat(32) }).success).toBe(true);
    const schedule = {
      kind: 'schedule',
      name: 'nightly',
      profileId: 'prf_x',
      config: { cron: '0 3 * * *', timezone: 'Nowhere/Land', promptTemplate: 'x' },
    };
    const result = CreateTrigger.safeParse(schedule);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['config', 'timezone']);
  });
});
