import type { ProfileVersion } from '@airlock/schema/api';
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { DiffView } from './diff-view.tsx';
import { diffVersions } from './version-diff.ts';

// What a publish changes, as the publish dialog and the versions tab show it.

afterEach(cleanup);

const base: ProfileVersion = {
  id: 'prv_01M845HXPYPSR9PA19MMXHJW5M',
  profileId: 'prf_01M845HXPYPSR9PA19MMXHJW5M',
  number: 1,
  status: 'published',
  agentRuntime: 'codex',
  agentVersion: '0.169.0',
  agentInstructions: '',
  envVars: [],
  sandboxProvider: 'docker',
  modelConnectionId: 'con_01M845HXPYPSR9PA19MMXHJW5A',
  gitConnectionId: null,
  providerConnectionId: null,
  repositories: [],
  connectorBindings: [],
  setupScript: 'apt-get update\nnpm ci\n',
  egressAllowlist: [],
  resources: { cpus: 2, memoryMb: 4096, pids: 1024 },
  stopSessionOnLeak: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  publishedAt: '2026-01-01T00:00:00.000Z',
  publishedBy: null,
};
const names = new Map([
  ['con_01M845HXPYPSR9PA19MMXHJW5A', { name: 'OpenAI prod' }],
  ['con_01M845HXPYPSR9PA19MMXHJW5B', { name: 'GitHub' }],
  ['con_01M845HXPYPSR9PA19MMXHJW5C', { name: 'E2B team account' }],
]);

describe('version diffs', () => {
  it('list only the settings that changed, by connection name, and the script line by line', () => {
    const draft: ProfileVersion = {
      ...base,
      number: 2,
      status: 'draft',
      gitConnectionId: 'con_01M845HXPYPSR9PA19MMXHJW5B',
      repositories: [{ repository: 'acme/web', ref: 'main' }],
      setupScript: 'apt-get update\npnpm install\n',
      egressAllowlist: ['packages.example.com'],
      stopSessionOnLeak: true,
    };
    const diff = diffVersions(base, draft, names);
    expect(diff.fields).toEqual([
      { label: 'Git connection', before: 'none', after: 'GitHub' },
      { label: 'Repositories', before: 'none', after: 'acme/web@main' },
      {
        label: 'Egress allowlist',
        before: 'none (deny all but brokered hosts)',
        after: 'packages.example.com',
      },
      { label: 'On a blocked credential leak', before: 'block and flag', after: 'stop the session' },
    ]);
    expect(diff.script.filter((c) => c.added).map((c) => c.value)).toEqual(['pnpm install\n']);
    expect(diff.script.filter((c) => c.removed).map((c) => c.value)).toEqual(['npm ci\n']);
    expect(diff.empty).toBe(false);
  });

  it('show a move to another sandbox provider with the account it runs in', () => {
    const draft: ProfileVersion = {
      ...base,
      number: 2,
      status: 'draft',
      sandboxProvider: 'e2b',
      providerConnectionId: 'con_01M845HXPYPSR9PA19MMXHJW5C',
    };
    expect(diffVersions(base, draft, names).fields).toEqual([
      { label: 'Sandbox provider', before: 'docker', after: 'e2b' },
      { label: 'Provider account', before: 'none', after: 'E2B team account' },
    ]);
  });

  it('are empty when nothing changed, and list everything against nothing published', () => {
    expect(diffVersions(base, { ...base, number: 2, status: 'draft' }, names).empty).toBe(true);
    const first = diffVersions(null, base, names);
    expect(first.fields.map((f) => f.label)).toContain('Model provider');
    expect(first.fields.find((f) => f.label === 'Model provider')?.after).toBe('OpenAI prod');
  });

  it('render added and removed lines so that they are told apart without colour', () => {
    const draft = { ...base, number: 2, setupScript: 'apt-get update\npnpm install\n' };
    render(<DiffView diff={diffVersions(base, draft, names)} beforeLabel="v1" afterLabel="v2" />);
    const added = screen.getByText('pnpm install', { exact: false }).closest('.diff-line');
    expect(added?.textContent).toContain('added:');
    expect(screen.getByText('npm ci', { exact: false }).closest('.diff-line')?.textContent).toContain(
      'removed:',
    );
    expect(screen.queryByRole('table')).toBeNull();
    cleanup();
    render(
      <DiffView diff={diffVersions(base, { ...base, number: 2 }, names)} beforeLabel="v1" afterLabel="v2" />,
    );
    expect(screen.getByText('No changes from v1.')).toBeTruthy();
  });
});
