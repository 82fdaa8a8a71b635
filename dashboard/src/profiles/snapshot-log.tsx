import type { Snapshot, SnapshotLogLine } from '@airlock/schema/api';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { api } from '../api/endpoints.ts';
import { ProblemAlert } from '../ui/alert.tsx';
import { StatusBadge } from '../ui/badge.tsx';
import { Time } from '../ui/time.tsx';

// A build's (or setup test's) status and log, followed live through the
// API's log cursor: poll `after=nextAfter` until the build is done.

const POLL_MS = 1000;

export function useSnapshot(orgId: string, snapshotId: string) {
  return useQuery({
    queryKey: ['snapshot', orgId, snapshotId],
    queryFn: () => api.snapshot(orgId, snapshotId),
    refetchInterval: (query) => {
      const status = query.state.data?.status;
      return status === 'ready' || status === 'failed' ? false : POLL_MS;
    },
  });
}

export function useLogFollower(orgId: string, snapshotId: string) {
  const [lines, setLines] = useState<SnapshotLogLine[]>([]);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const controller = new AbortController();
    let after = 0;
    setLines([]);
    setDone(false);
    setError(null);
    const follow = async () => {
      while (!controller.signal.aborted) {
        let full = false;
        try {
          const page = await api.snapshotLogs(orgId, snapshotId, after);
          if (controller.signal.aborted) return;
          setError(null);
          if (page.lines.length > 0) setLines((previous) => [...previous, ...page.lines]);
          after = page.nextAfter;
          if (page.done) {
            setDone(true);
            return;
          }
          full = page.lines.length >= 500;
        } catch (e) {
          if (controller.signal.aborted) return;
          setError(e);
        }
        if (!full) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    };
    void follow();
    return () => controller.abort();
  }, [orgId, snapshotId]);
  return { lines, done, error };
}

export function SnapshotLog({
  orgId,
  snapshot: initial,
  title,
}: {
  orgId: string;
  snapshot: Snapshot;
  title: string;
}) {
  const snapshot = useSnapshot(orgId, initial.id).data ?? initial;
  const { lines, done, error } = useLogFollower(orgId, initial.id);
  const pre = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll to the end whenever lines arrive
  useEffect(() => {
    const node = pre.current;
    if (node !== null && stick.current) node.scrollTop = node.scrollHeight;
  }, [lines]);
  const working = snapshot.status === 'pending' || snapshot.status === 'building';
  return (
    <section className="snapshot-log" aria-label={title}>
      <header className="row">
        <h3>{title}</h3>
        <StatusBadge status={snapshot.status} />
        {working && <span className="spinner" role="status" aria-label={`${title} is ${snapshot.status}`} />}
        <span className="muted small">
          {snapshot.id} · started <Time iso={snapshot.startedAt ?? snapshot.createdAt} />
          {snapshot.finishedAt !== null && (
            <>
              {' '}
              · finished <Time iso={snapshot.finishedAt} />
            </>
          )}
        </span>
      </header>
      {snapshot.failureReason !== null && (
        <div role="alert" className="alert alert-error">
          {snapshot.failureReason}
        </div>
      )}
      <ProblemAlert error={error} />
      <div
        ref={pre}
        role="log"
        className="log"
        // A scrollable region must be reachable by keyboard to scroll it (WCAG 2.1.1).
        // biome-ignore lint/a11y/noNoninteractiveTabindex: scrollable region
        tabIndex={0}
        aria-label={`${title} output`}
        onScroll={(e) => {
          const node = e.currentTarget;
          stick.current = node.scrollTop + node.clientHeight >= node.scrollHeight - 8;
        }}
      >
        {lines.length === 0
          ? working
            ? 'Waiting for output…'
            : done
              ? 'No output.'
              : ''
          : lines.map((l) => (
              <span key={l.seq} className={`log-${l.stream}`}>
                {l.text}
                {'\n'}
              </span>
            ))}
      </div>
    </section>
  );
}
