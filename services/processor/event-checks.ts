/**
 * What the processor refuses in an event before any effect, as pure functions: the handlers run them,
 * and `mesh schema readiness` runs them on samples of a new schema revision (shared/governance).
 */
import { PoisonError, type DecodedEvent } from '../../shared/consumer';
import type { EventCheck } from '../../shared/governance';
import type { ConsumerSpec } from '../../shared/spec';
import { likeDelta, type AnalyticsEventData } from './analytics';
import { applyOrderEvent, type OrderEventData } from './orders';

/** A like moves a post's counter, so it must name the post. */
export function checkAnalyticsEvent({ event }: DecodedEvent<AnalyticsEventData>): void {
  if (likeDelta(event.type) && !event.data.postId) throw new PoisonError(`${event.type} without postId`, 'handler');
}

/** An order event must fold into a projection (an anomaly is recorded, not refused; a throw is a bug the sample shows). */
export function checkOrderEvent({ event }: DecodedEvent<OrderEventData>): void {
  applyOrderEvent(undefined, { id: event.id, type: event.type, time: event.time, data: event.data });
}

const BY_TOPIC: Record<string, EventCheck> = { analytics: checkAnalyticsEvent, orders: checkOrderEvent };

export function eventCheckFor(consumer: Pick<ConsumerSpec, 'topic'>): EventCheck | undefined {
  return BY_TOPIC[consumer.topic];
}
