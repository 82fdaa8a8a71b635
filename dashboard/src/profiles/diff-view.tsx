import type { VersionDiff } from './version-diff.ts';

/** A version diff: changed fields as a table, the setup script as a unified line diff. */
export function DiffView({
  diff,
  beforeLabel,
  afterLabel,
}: {
  diff: VersionDiff;
  beforeLabel: string;
  afterLabel: string;
}) {
  if (diff.empty) return <p>No changes from {beforeLabel}.</p>;
  return (
    <div className="diff">
      {diff.fields.length > 0 && (
        <table className="table">
          <caption>Changed settings</caption>
          <thead>
            <tr>
              <th scope="col">Setting</th>
              <th scope="col">{beforeLabel}</th>
              <th scope="col">{afterLabel}</th>
            </tr>
          </thead>
          <tbody>
            {diff.fields.map((f) => (
              <tr key={f.label}>
                <th scope="row">{f.label}</th>
                <td className="diff-del">{f.before}</td>
                <td className="diff-add">{f.after}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {diff.scriptChanged && (
        <figure className="script-diff">
          <figcaption>Setup script</figcaption>
          <pre>
            {diff.script.flatMap((change, i) =>
              change.value
                .replace(/\n$/, '')
                .split('\n')
                .map((line, j) => {
                  const kind = change.added ? 'add' : change.removed ? 'del' : 'same';
                  const mark = kind === 'add' ? '+' : kind === 'del' ? '-' : ' ';
                  return (
                    // biome-ignore lint/suspicious/noArrayIndexKey: a diff line's position is its identity
                    <span key={`${i}-${j}`} className={`diff-line diff-${kind}`}>
                      <span aria-hidden="true">{mark}</span>
                      <span className="visually-hidden">
                        {kind === 'add' ? 'added: ' : kind === 'del' ? 'removed: ' : ''}
                      </span>{' '}
                      {line}
                      {'\n'}
                    </span>
                  );
                }),
            )}
          </pre>
        </figure>
      )}
    </div>
  );
}
