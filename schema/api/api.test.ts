import { describe, expect, it } from 'vitest';
import * as db from '../db/tables/enums.ts';
import { CronError, cronMatches, isTimeZone, parseCron } from './cron.ts';
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
  it('parses the five fields with ranges, steps, lists and names', () => {
    const cron = parseCron('*/15 9-17 * JAN,jul MON-FRI');
    expect(cron.minutes).toEqual([0, 15, 30, 45]);
    expect(cron.hours).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect(cron.months).toEqual([1, 7]);
    expect(cron.weekdays).toEqual([1, 2, 3, 4, 5]);
    expect(parseCron('0 0 * * 7').weekdays).toEqual([0]);
    expect(cronMatches(cron, { minute: 30, hour: 9, day: 3, month: 7, weekday: 1 })).toBe(true);
    expect(cronMatches(cron, { minute: 30, hour: 9, day: 3, month: 7, weekday: 0 })).toBe(false);
    // Both day fields restricted: either may match (cron's OR rule).
    const either = parseCron('0 0 1 * MON');
    expect(cronMatches(either, { minute: 0, hour: 0, day: 1, month: 3, weekday: 4 })).toBe(true);
    expect(cronMatches(either, { minute: 0, hour: 0, day: 2, month: 3, weekday: 1 })).toBe(true);
    expect(cronMatches(either, { minute: 0, hour: 0, day: 2, month: 3, weekday: 2 })).toBe(false);
  });

  it('rejects malformed expressions with the field at fault', () => {
    expect(() => parseCron('* * * *')).toThrow('expected 5 fields');
    expect(() => parseCron('60 * * * *')).toThrow('minute: 60 is outside 0-59');
    expect(() => parseCron('* * * * FUNDAY')).toThrow(CronError);
    expect(() => parseCron('5-1 * * * *')).toThrow('runs backwards');
    expect(() => parseCron('*/0 * * * *')).toThrow('step');
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
