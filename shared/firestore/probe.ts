import type { Firestore } from '@google-cloud/firestore';

/**
 * The document a service reads to learn whether Firestore answers (readiness, shared/consumer/dependencies.ts).
 * It never exists: a read of a missing document is the cheapest call Firestore bills, and needs only
 * `datastore.entities.get`, which every mesh service account holds (roles/datastore.user).
 */
export const READINESS_PROBE_PATH = 'meshProbe/readiness';

/** A readiness probe of `db`: resolves when Firestore answered a read. */
export function firestoreProbe(db: Firestore): () => Promise<unknown> {
  const ref = db.doc(READINESS_PROBE_PATH);
  return () => ref.get();
}
