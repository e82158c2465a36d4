/**
 * Firestore holds the processor's projections, the dashboard's aggregates and the dedup records that
 * make both count each event once. Dedup records and aggregates carry an expiry; TTL policies delete
 * them after it, so no collection grows forever (TTL deletes land within about a day of expiry).
 *
 * Recovery (spec.recovery.firestore):
 * - point-in-time recovery: "Reads against any timestamp within the past hour; reads against 1-minute
 *   snapshots beyond 1 hour and within 7 days" (PointInTimeRecoveryEnablement,
 *   https://cloud.google.com/firestore/docs/reference/rest/v1/projects.databases); without it only the
 *   last hour is readable. RPO: 1 minute, for 7 days.
 * - a backup schedule (daily or weekly, UTC): "At most two backup schedules can be configured on a
 *   database, one daily and one weekly"; retention at most 14 weeks; backups outlive a deleted
 *   database and restore into a new one (https://cloud.google.com/firestore/docs/backups).
 */
import * as gcp from '@pulumi/gcp';
import { toProtoDuration } from '../shared/spec';
import {
  ANOMALY_COLLECTIONS,
  ANOMALY_COUNT_INDEX_FIELDS,
  ANOMALY_EXPIRY_FIELD,
  DASHBOARD_COLLECTIONS,
  DASHBOARD_EXPIRY_FIELD,
  DEDUP_COLLECTION,
  DEDUP_EXPIRY_FIELD,
  LIKES_POSTS_FIELD,
  RETIRED_ANOMALY_COLLECTIONS,
} from '../shared/firestore';
import { resourceOptions, type MeshContext } from './context';

export interface MeshFirestore {
  database: gcp.firestore.Database;
  dedupTtl: gcp.firestore.Field;
  /** One TTL policy per dashboard collection group (shards, sketches, likes). */
  dashboardTtl: gcp.firestore.Field[];
  /** likes.posts not indexed. */
  likesPostsUnindexed: gcp.firestore.Field;
  /** TTL policies of the anomaly log, and of the counters earlier versions wrote (anomalyLog, anomalyCounts). */
  anomalyTtl: gcp.firestore.Field[];
  /** The anomaly log's composite index for counting per topic and kind since a time. */
  anomalyCountIndex: gcp.firestore.Index;
  /** The spec's backup schedule, unless `backups.every: never`. */
  backupSchedule: gcp.firestore.BackupSchedule | undefined;
}

export function createFirestore(ctx: MeshContext): MeshFirestore {
  const protect = ctx.config.deletionProtection;
  const recovery = ctx.spec.recovery.firestore;
  const database = new gcp.firestore.Database(
    'firestore',
    {
      project: ctx.config.project,
      name: '(default)', // the client libraries' default database
      locationId: ctx.config.firestoreLocation,
      type: 'FIRESTORE_NATIVE',
      // Protected stacks keep the database (and its data) when the stack is destroyed.
      deletionPolicy: protect ? 'ABANDON' : 'DELETE',
      deleteProtectionState: protect ? 'DELETE_PROTECTION_ENABLED' : 'DELETE_PROTECTION_DISABLED',
      pointInTimeRecoveryEnablement: recovery.pointInTimeRecovery ? 'POINT_IN_TIME_RECOVERY_ENABLED' : 'POINT_IN_TIME_RECOVERY_DISABLED',
    },
    resourceOptions(ctx),
  );
  const backups = recovery.backups;
  // Named by recurrence: daily -> weekly creates the new schedule before deleting the old one,
  // which Firestore allows (one of each).
  const backupSchedule = backups
    ? new gcp.firestore.BackupSchedule(
        `firestore-backups-${backups.every}`,
        {
          project: ctx.config.project,
          database: database.name,
          retention: toProtoDuration(backups.retentionSeconds),
          ...(backups.every === 'daily' ? { dailyRecurrence: {} } : { weeklyRecurrence: { day: (backups.day ?? 'sunday').toUpperCase() } }),
        },
        resourceOptions(ctx, database),
      )
    : undefined;
  const dedupTtl = new gcp.firestore.Field(
    'dedup-ttl',
    {
      project: ctx.config.project,
      database: database.name,
      collection: DEDUP_COLLECTION,
      field: DEDUP_EXPIRY_FIELD,
      ttlConfig: {},
      // Not indexed: an ever-increasing timestamp index caps writes at ~500/s, and nothing queries it.
      indexConfig: {},
    },
    resourceOptions(ctx, database),
  );
  // Minute windows expire 2 days after they end, hour windows 35 days. The field stays indexed:
  // these documents are written about once a second, far below what an indexed timestamp allows.
  // Field changes made at the same time on one database can fail (409 "underlying data changed"): chain them.
  const dashboardTtl: gcp.firestore.Field[] = [];
  for (const collection of Object.values(DASHBOARD_COLLECTIONS)) {
    const previous = dashboardTtl[dashboardTtl.length - 1] ?? dedupTtl;
    dashboardTtl.push(
      new gcp.firestore.Field(
        `dashboard-${collection}-ttl`,
        { project: ctx.config.project, database: database.name, collection, field: DASHBOARD_EXPIRY_FIELD, ttlConfig: {} },
        resourceOptions(ctx, database, previous),
      ),
    );
  }
  const likesPostsUnindexed = new gcp.firestore.Field(
    'dashboard-likes-posts-unindexed',
    { project: ctx.config.project, database: database.name, collection: DASHBOARD_COLLECTIONS.likes, field: LIKES_POSTS_FIELD, indexConfig: {} },
    resourceOptions(ctx, database, dashboardTtl[dashboardTtl.length - 1]),
  );
  // The anomaly log expires 35 days on (shared/firestore/anomalies.ts). Nothing queries its expiresAt,
  // and it grows with every anomaly: not indexed, like dedup's. The retired counter documents keep
  // their policy, so those written by earlier versions still expire.
  const anomalyTtl: gcp.firestore.Field[] = [];
  for (const collection of [...RETIRED_ANOMALY_COLLECTIONS, ...Object.values(ANOMALY_COLLECTIONS)]) {
    const previous = anomalyTtl[anomalyTtl.length - 1] ?? likesPostsUnindexed;
    anomalyTtl.push(
      new gcp.firestore.Field(
        `${collection}-ttl`,
        { project: ctx.config.project, database: database.name, collection, field: ANOMALY_EXPIRY_FIELD, ttlConfig: {}, indexConfig: {} },
        resourceOptions(ctx, database, previous),
      ),
    );
  }
  // Counts are count() queries on the log with equality on topic and kind and a range on detectedAt:
  // "For queries with multiple equality clauses and a range or inequality, you must create a composite
  // index" (https://cloud.google.com/firestore/docs/query-data/index-overview); the emulator needs none.
  const anomalyCountIndex = new gcp.firestore.Index(
    'anomaly-log-count-index',
    {
      project: ctx.config.project,
      database: database.name,
      collection: ANOMALY_COLLECTIONS.log,
      queryScope: 'COLLECTION',
      fields: ANOMALY_COUNT_INDEX_FIELDS.map((fieldPath) => ({ fieldPath, order: 'ASCENDING' })),
    },
    resourceOptions(ctx, database),
  );
  return { database, dedupTtl, dashboardTtl, likesPostsUnindexed, anomalyTtl, anomalyCountIndex, backupSchedule };
}
