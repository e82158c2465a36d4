/**
 * Parity as a running control, the contract between what runs it (tools/parity/job.ts, `mesh parity
 * --record`) and what deploys and watches it (infra/parity.ts): the custom metric each run writes, the
 * job's name and what it is told through its environment. The results table's schema is part of the
 * warehouse's contract (shared/warehouse/schema.ts, PARITY_RESULTS_TABLE). Which consumers a run compares
 * is here too: infra grants the job their dead-letter holds.
 */

/**
 * One point per topic per run: how many of the topic's checks disagree (0 when every sink agrees).
 * A GAUGE: each run states the current truth, so a fixed mismatch reads 0 at the next run.
 * User-defined metrics live under custom.googleapis.com
 * (https://cloud.google.com/monitoring/custom-metrics/creating-metrics).
 */
export const PARITY_METRIC_TYPE = 'custom.googleapis.com/event_mesh/parity_mismatches';
/** The topic only: one time series per topic, whatever the run (an id per run would be a series per run). */
export const PARITY_METRIC_LABELS = ['topic'] as const;
/**
 * `global`: a run is not tied to one instance or region. Custom metrics may be written against it
 * ("Monitored resources for user-defined metrics", https://cloud.google.com/monitoring/custom-metrics/creating-metrics#which-resource);
 * its one label is project_id.
 */
export const PARITY_METRIC_RESOURCE = 'global';

import type { ConsumerSpec, MeshSpec } from './spec';

/** The sinks parity compares: the warehouse is the reference. */
export type Sink = 'warehouse' | 'dashboard' | 'processor';
export const SINKS: readonly Sink[] = ['warehouse', 'dashboard', 'processor'];

/** The push/pull consumer of `topic` run by the service named like `sink`, if the spec has one. */
export function sinkConsumer(spec: MeshSpec, topic: string, sink: Sink): ConsumerSpec | undefined {
  return Object.values(spec.consumers).find((c) => c.topic === topic && c.service === sink && (c.delivery === 'push' || c.delivery === 'pull'));
}

/** The compared consumers of `topic`, by sink. */
export function sinkConsumers(spec: MeshSpec, topic: string): Partial<Record<Sink, ConsumerSpec>> {
  const out: Partial<Record<Sink, ConsumerSpec>> = {};
  for (const sink of SINKS) {
    const c = sinkConsumer(spec, topic, sink);
    if (c) out[sink] = c;
  }
  return out;
}

/** Every consumer a parity run compares (and whose dead-letter hold it reads): those of topics the warehouse consumes. */
export function parityConsumers(spec: MeshSpec): ConsumerSpec[] {
  return Object.keys(spec.topics)
    .map((topic) => sinkConsumers(spec, topic))
    .filter((bySink) => bySink.warehouse)
    .flatMap((bySink) => Object.values(bySink));
}

/** Whether a deployed mesh runs parity on a schedule: the spec asks for it and some topic has a warehouse to compare against. */
export const runsScheduledParity = (spec: MeshSpec): boolean => spec.parity.schedule !== undefined && parityConsumers(spec).length > 0;

/** The Cloud Run job (and the Scheduler job that starts it). */
export const PARITY_JOB_NAME = 'mesh-parity';

/** Environment of the parity job (infra/parity.ts sets it, tools/parity/job.ts reads it). */
export const PARITY_JOB_ENV = {
  project: 'GOOGLE_CLOUD_PROJECT',
  spec: 'MESH_SPEC',
} as const;
