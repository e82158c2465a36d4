/**
 * Firestore holds the processor's projections and the dedup records that make its effects
 * exactly-once. Dedup records carry an expiry; the TTL policy deletes them after it, so the
 * collection does not grow forever (TTL deletes land within about a day of expiry).
 */
import * as gcp from '@pulumi/gcp';
import { resourceOptions, type MeshContext } from './context';

/** Where the services' dedup records live and the timestamp field after which they may go. */
export const DEDUP_COLLECTION = 'dedup';
export const DEDUP_EXPIRY_FIELD = 'expiresAt';

export interface MeshFirestore {
  database: gcp.firestore.Database;
  dedupTtl: gcp.firestore.Field;
}

export function createFirestore(ctx: MeshContext): MeshFirestore {
  const protect = ctx.config.deletionProtection;
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
    },
    resourceOptions(ctx),
  );
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
  return { database, dedupTtl };
}
