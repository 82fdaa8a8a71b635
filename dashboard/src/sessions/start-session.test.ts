import type { Profile, Snapshot } from '@airlock/schema/api';
import { describe, expect, it } from 'vitest';
import { startBlocker } from './start-session.tsx';

// Why a session cannot start yet: the same rules as the API's 409 reasons.

const profile: Profile = {
  id: 'prf_01M845HXPYPSR9PA19MMXHJW5M',
  name: 'Web',
  description: '',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  archivedAt: null,
  draftVersionId: null,
  latestPublished: {
    id: 'prv_01M845HXPYPSR9PA19MMXHJW5M',
    number: 3,
    publishedAt: '2026-01-01T00:00:00.000Z',
  },
};
const snapshot = (status: Snapshot['status'], failureReason: string | null = null): Snapshot => ({
  id: 'snp_01M845HXPYPSR9PA19MMXHJW5M',
  profileVersionId: 'prv_01M845HXPYPSR9PA19MMXHJW5M',
  kind: 'snapshot',
  status,
  provider: 'docker',
  imageRef: null,
  agentVersion: null,
  exitCode: null,
  failureReason,
  createdAt: '2026-01-01T00:00:00.000Z',
  startedAt: null,
  finishedAt: null,
});

describe('starting a session', () => {
  it('is allowed only with a ready snapshot of the latest published version', () => {
    expect(startBlocker(profile, snapshot('ready'))).toBeNull();
    expect(startBlocker(profile, snapshot('building'))).toBe(
      'The snapshot of v3 is building; sessions can start once it is ready.',
    );
    expect(startBlocker(profile, snapshot('failed', 'setup script exited 1'))).toBe(
      'The snapshot of v3 failed: setup script exited 1. Rebuild it from the Snapshots tab.',
    );
    expect(startBlocker(profile, undefined)).toBe('Version 3 has no snapshot yet.');
    expect(startBlocker({ ...profile, latestPublished: null }, undefined)).toMatch(
      /^Publish the draft first/,
    );
    expect(startBlocker({ ...profile, archivedAt: '2026-01-02T00:00:00.000Z' }, snapshot('ready'))).toBe(
      'The profile is archived.',
    );
  });
});
