/** A loading indicator that is announced once (role=status) and labelled with what is loading. */
export function Loading({ what }: { what: string }) {
  return (
    <p role="status" className="loading">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}
