/**
 * What the dashboard refuses in an event, as a pure function: the contribution the handler counts
 * (windows.ts) must be buildable. `mesh schema readiness` runs it on samples of a new revision.
 */
import type { EventCheck } from '../../shared/governance';
import type { ConsumerSpec } from '../../shared/spec';
import { contributionOf } from './windows';

export function eventCheckFor(consumer: Pick<ConsumerSpec, 'name' | 'topic'>): EventCheck {
  return (decoded) => void contributionOf(consumer.name, consumer.topic, decoded);
}
