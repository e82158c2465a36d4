/**
 * What the warehouse refuses in an event before loading it, as a pure function: the row the loader
 * inserts (shared/warehouse eventRow) must be buildable for the topic's table. `mesh schema readiness`
 * runs it on samples of a new revision; BigQuery's own refusals come at insert time (loader.ts).
 */
import type { EventCheck } from '../../shared/governance';
import type { ConsumerSpec, MeshSpec } from '../../shared/spec';
import { eventRow } from '../../shared/warehouse';

export function eventCheckFor(spec: MeshSpec, consumer: Pick<ConsumerSpec, 'topic'>): EventCheck {
  const topic = spec.topics[consumer.topic];
  return (decoded) => void eventRow(topic, decoded);
}
