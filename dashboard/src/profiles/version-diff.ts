import type { Connection, ProfileVersion } from '@airlock/schema/api';
import { type Change, diffLines } from 'diff';

// What publishing changes: the draft against the latest published version,
// field by field in words, and the setup script line by line.

export interface FieldChange {
  readonly label: string;
  readonly before: string;
  readonly after: string;
}

export interface VersionDiff {
  readonly fields: readonly FieldChange[];
  readonly script: readonly Change[];
  readonly scriptChanged: boolean;
  readonly empty: boolean;
}

type Names = ReadonlyMap<string, Pick<Connection, 'name'>>;

const connectionName = (id: string | null, names: Names) =>
  id === null ? 'none' : (names.get(id)?.name ?? id);

/** The fields of a version as people read them (one string each), in a fixed order. */
export function describeVersion(v: ProfileVersion, names: Names): [string, string][] {
  return [
    ['Agent runtime', v.agentRuntime],
    ['Agent CLI version', v.agentVersion],
    [
      'Instructions for the agent',
      v.agentInstructions.trim() === '' ? 'none' : `${v.agentInstructions.trim().split('\n').length} lines`,
    ],
    [
      'Environment variables',
      v.envVars
        .map((e) => (e.kind === 'plain' ? `${e.name}=${e.value}` : `${e.name} (secret in the sandbox)`))
        .join(', ') || 'none',
    ],
    ['Sandbox provider', v.sandboxProvider],
    ['Provider account', connectionName(v.providerConnectionId, names)],
    ['Model provider', connectionName(v.modelConnectionId, names)],
    ['Git connection', connectionName(v.gitConnectionId, names)],
    [
      'Repositories',
      v.repositories
        .map(
          (r) =>
            `${r.repository}${r.ref === undefined ? '' : `@${r.ref}`}${r.path === undefined ? '' : ` → ${r.path}`}`,
        )
        .join(', ') || 'none',
    ],
    [
      'Connectors',
      v.connectorBindings.map((b) => connectionName(b.connectionId, names)).join(', ') || 'none',
    ],
    ['Egress allowlist', v.egressAllowlist.join(', ') || 'none (deny all but brokered hosts)'],
    ['On a blocked credential leak', v.stopSessionOnLeak ? 'stop the session' : 'block and flag'],
    [
      'Resources',
      `${v.resources.cpus} CPU, ${v.resources.memoryMb} MB memory, ${v.resources.pids} processes${v.resources.diskMb === undefined ? '' : `, ${v.resources.diskMb} MB disk`}`,
    ],
  ];
}

export function diffVersions(
  before: ProfileVersion | null,
  after: ProfileVersion,
  names: Names,
): VersionDiff {
  const old = new Map(before === null ? [] : describeVersion(before, names));
  const fields = describeVersion(after, names)
    .filter(([label, value]) => before === null || old.get(label) !== value)
    .map(([label, value]) => ({
      label,
      before: before === null ? '—' : (old.get(label) ?? '—'),
      after: value,
    }));
  const script = diffLines(before?.setupScript ?? '', after.setupScript);
  const scriptChanged = script.some((c) => c.added || c.removed);
  return { fields, script, scriptChanged, empty: fields.length === 0 && !scriptChanged };
}
