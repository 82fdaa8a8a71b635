import { Link } from '@tanstack/react-router';
import { ProblemAlert } from '../ui/alert.tsx';

export function NotFound() {
  return (
    <main className="content narrow">
      <h1>Nothing here</h1>
      <p>
        This page does not exist, or it belongs to an organization you are not a member of.{' '}
        <Link to="/">Go to your organization</Link>.
      </p>
    </main>
  );
}

export function RouteError({ error }: { error: unknown }) {
  return (
    <main className="content narrow">
      <h1>This page could not be shown</h1>
      <ProblemAlert error={error} />
      <p>
        <Link to="/">Back to the start</Link>
      </p>
    </main>
  );
}
