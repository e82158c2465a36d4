/**
 * The Firestore contract of the mesh: the one document-id rule and hash (ids.ts) and the layout
 * (layout.ts), read by the processor, the dashboard, infra's TTL policies and the tools.
 */
export { docId, fromDocId, isValidDocId, fnv1a32, shardOf, MAX_DOC_ID_BYTES } from './ids';
export * from './layout';
// Order anomalies: counters, log and their reader (anomalies.ts).
export * from './anomalies';
// Readiness: whether Firestore answers (probe.ts).
export * from './probe';
// The latest parity result per topic (parity.ts).
export * from './parity';
// Each replay's latest step, for the dashboard (replays.ts).
export * from './replays';
