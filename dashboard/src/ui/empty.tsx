import type { ReactNode } from 'react';

/** What to do next when a list is empty: a title, one sentence, and the action that fills it. */
export function EmptyState({
  title,
  children,
  action,
}: {
  title: string;
  children: ReactNode;
  action?: ReactNode;
}) {
  return (
    <section className="empty" aria-label={title}>
      <h2>{title}</h2>
      <p>{children}</p>
      {action}
    </section>
  );
}
