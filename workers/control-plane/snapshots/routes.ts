import {
  FilterText,
  PathId,
  Snapshot,
  SnapshotList,
  SnapshotLogPage,
  SnapshotLogQuery,
} from '@airlock/schema/api';
import { snapshotLogs, snapshots } from '@airlock/schema/db';
import { and, asc, desc, eq, gt } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../../lib/db.ts';
import { ProblemError } from '../../lib/problem.ts';
import { iso } from '../env.ts';
import { createRoute, defineRoute, json, OrgParams } from '../route.ts';
import { snapshotOut } from './service.ts';

const tags = ['snapshots'];
const SnapshotParams = OrgParams.extend({ snapshotId: PathId });

async function findSnapshot(db: Database, orgId: string, id: string) {
  const [row] = await db
    .select()
    .from(snapshots)
    .where(and(eq(snapshots.id, id), eq(snapshots.orgId, orgId)));
  if (row === undefined) throw new ProblemError('not_found', `No snapshot ${id} in this org.`);
  return row;
}

export const snapshotRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'profiles.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/snapshots',
      tags,
      summary: 'Snapshots, newest first (filter by profile version)',
      request: {
        params: OrgParams,
        query: z.strictObject({ profileVersionId: FilterText(64).optional() }),
      },
      responses: { 200: json(SnapshotList, 'Snapshots') },
    }),
    handler: async (c) => {
      const { profileVersionId } = c.req.valid('query');
      const rows = await c
        .get('scope')
        .db()
        .select()
        .from(snapshots)
        .where(
          and(
            eq(snapshots.orgId, c.get('member').orgId),
            ...(profileVersionId === undefined ? [] : [eq(snapshots.profileVersionId, profileVersionId)]),
          ),
        )
        .orderBy(desc(snapshots.createdAt), desc(snapshots.id))
        .limit(200);
      return c.json({ items: rows.map(snapshotOut) }, 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'profiles.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/snapshots/{snapshotId}',
      tags,
      summary: 'A snapshot and its status',
      request: { params: SnapshotParams },
      responses: { 200: json(Snapshot, 'The snapshot') },
    }),
    handler: async (c) =>
      c.json(
        snapshotOut(
          await findSnapshot(c.get('scope').db(), c.get('member').orgId, c.req.valid('param').snapshotId),
        ),
        200,
      ),
  }),
  defineRoute({
    access: { kind: 'org', permission: 'profiles.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/snapshots/{snapshotId}/logs',
      tags,
      summary: 'Build log lines after a cursor (poll with nextAfter to follow)',
      request: { params: SnapshotParams, query: SnapshotLogQuery },
      responses: { 200: json(SnapshotLogPage, 'Log lines') },
    }),
    handler: async (c) => {
      const snapshot = await findSnapshot(
        c.get('scope').db(),
        c.get('member').orgId,
        c.req.valid('param').snapshotId,
      );
      const { after, limit } = c.req.valid('query');
      const lines = await c
        .get('scope')
        .db()
        .select()
        .from(snapshotLogs)
        .where(and(eq(snapshotLogs.snapshotId, snapshot.id), gt(snapshotLogs.seq, after)))
        .orderBy(asc(snapshotLogs.seq))
        .limit(limit);
      const finished = snapshot.status === 'ready' || snapshot.status === 'failed';
      return c.json(
        {
          lines: lines.map((l) => ({ seq: l.seq, stream: l.stream, text: l.text, at: iso(l.createdAt) })),
          nextAfter: lines.at(-1)?.seq ?? after,
          done: finished && lines.length < limit,
        },
        200,
      );
    },
  }),
];
