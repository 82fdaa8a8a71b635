import type { ReactNode } from 'react';
import { errorMessage } from '../api/client.ts';

/** An error from the API, shown with the problem's `detail` and announced to screen readers. */
export function ProblemAlert({ error, title }: { error: unknown; title?: string }) {
  if (error === null || error === undefined) return null;
  return (
    <div role="alert" className="alert alert-error">
      {title !== undefined && <strong>{title}: </strong>}
      {errorMessage(error)}
    </div>
  );
}

export function Notice({
  tone = 'info',
  children,
}: {
  tone?: 'info' | 'success' | 'warning';
  children: ReactNode;
}) {
  return (
    <div role="status" className={`alert alert-${tone}`}>
      {children}
    </div>
  );
}
