import { z } from 'zod';
import { IdOf, Timestamp } from './common.ts';
import { LOG_STREAMS, SANDBOX_PROVIDERS, SNAPSHOT_KINDS, SNAPSHOT_STATUSES } from './enums.ts';

export const Snapshot = z
  .object({
    id: IdOf('snp'),
    profileVersionId: IdOf('prv'),
    kind: z.enum(SNAPSHOT_KINDS),
    status: z.enum(SNAPSHOT_STATUSES),
    provider: z.enum(SANDBOX_PROVIDERS),
    imageRef: z.string().nullable(),
    /** The agent CLI version the build installed, once it has. */
    agentVersion: z.string().nullable(),
    /** Exit code of the step that ended the build (the setup script's, when it ran); null until then. */
    exitCode: z.number().int().nullable(),
    failureReason: z.string().nullable(),
    createdAt: Timestamp,
    startedAt: Timestamp.nullable(),
    finishedAt: Timestamp.nullable(),
  })
  .meta({ id: 'Snapshot' });

export const SnapshotList = z.object({ items: z.array(Snapshot) }).meta({ id: 'SnapshotList' });

export const SnapshotLogQuery = z.strictObject({
  /** Return lines with seq greater than this (the previous page's `nextAfter`); seq is a 32-bit column. */
  after: z.coerce.number().int().min(0).max(2_147_483_647).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export const SnapshotLogLine = z
  .object({ seq: z.number().int(), stream: z.enum(LOG_STREAMS), text: z.string(), at: Timestamp })
  .meta({ id: 'SnapshotLogLine' });

export const SnapshotLogPage = z
  .object({
    lines: z.array(SnapshotLogLine),
    /** Pass as `after` to follow the log. */
    nextAfter: z.number().int(),
    /** The build has finished and every line has been returned. */
    done: z.boolean(),
  })
  .meta({ id: 'SnapshotLogPage' });

export type Snapshot = z.infer<typeof Snapshot>;
export type SnapshotLogLine = z.infer<typeof SnapshotLogLine>;
export type SnapshotLogPage = z.infer<typeof SnapshotLogPage>;
