import type { Connection, ProfileVersion } from '@airlock/schema/api';
import { Link } from '@tanstack/react-router';
import { useOrg } from '../api/session.ts';
import { StatusBadge } from '../ui/badge.tsx';
import { EmptyState } from '../ui/empty.tsx';
import { Time } from '../ui/time.tsx';
import { DiffView } from './diff-view.tsx';
import { ScriptEditor } from './script-editor.tsx';
import { describeVersion, diffVersions } from './version-diff.ts';

/** Published versions, read-only: what each one runs and what it changed from the one before. */
export function VersionsTab({
  versions,
  names,
  selectedId,
}: {
  versions: readonly ProfileVersion[];
  names: ReadonlyMap<string, Connection>;
  selectedId: string | undefined;
}) {
  const { orgId } = useOrg();
  const published = versions.filter((v) => v.status === 'published');
  if (published.length === 0)
    return (
      <EmptyState title="Nothing published yet">
        Publish the draft to freeze it as version 1 and build its snapshot.
      </EmptyState>
    );
  const selected = published.find((v) => v.id === selectedId) ?? published[0];
  if (selected === undefined) return null;
  const previous = published.find((v) => v.number < selected.number) ?? null;
  return (
    <div className="split">
      <nav aria-label="Published versions">
        <ul className="list">
          {published.map((v) => (
            <li key={v.id}>
              <Link
                to="/orgs/$orgId/profiles/$profileId"
                params={{ orgId, profileId: v.profileId }}
                search={{ tab: 'versions', version: v.id }}
                aria-current={v.id === selected.id ? 'true' : undefined}
                className={v.id === selected.id ? 'active' : undefined}
              >
                v{v.number} <StatusBadge status={v.status} /> <Time iso={v.publishedAt} />
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <section aria-label={`Version ${selected.number}`}>
        <h2>Version {selected.number}</h2>
        <p className="muted">
          Published versions are read-only; edit the draft and publish again to change them.
        </p>
        <dl className="facts">
          {describeVersion(selected, names).map(([label, value]) => (
            <div key={label} className="fact">
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
        <h3>Setup script</h3>
        {selected.setupScript === '' ? (
          <p className="muted">No setup script.</p>
        ) : (
          <ScriptEditor
            label={`Setup script of version ${selected.number}`}
            value={selected.setupScript}
            readOnly
          />
        )}
        {previous === null ? (
          <p className="muted">The first published version of this profile.</p>
        ) : (
          <>
            <h3>Changes from v{previous.number}</h3>
            <DiffView
              diff={diffVersions(previous, selected, names)}
              beforeLabel={`v${previous.number}`}
              afterLabel={`v${selected.number}`}
            />
          </>
        )}
      </section>
    </div>
  );
}
