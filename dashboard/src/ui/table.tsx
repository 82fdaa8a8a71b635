import type { ReactNode } from 'react';

// A data table with a caption (visually hidden unless `showCaption`) and
// column headers; `false` leaves a column out (e.g. actions a role lacks).

export function Table({
  caption,
  columns,
  children,
  showCaption = false,
  className,
  busy,
}: {
  caption: string;
  columns: readonly (string | false)[];
  children: ReactNode;
  showCaption?: boolean;
  className?: string;
  busy?: boolean;
}) {
  return (
    <table className={className === undefined ? 'table' : `table ${className}`} aria-busy={busy || undefined}>
      <caption className={showCaption ? undefined : 'visually-hidden'}>{caption}</caption>
      <thead>
        <tr>
          {columns
            .filter((c): c is string => c !== false)
            .map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}
