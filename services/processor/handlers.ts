/**
 * The processor's handler per consumer. Which handler a consumer gets follows its topic, so a spec
 * that adds a second consumer of the same topic (or a test spec) needs no code change.
 */
import { ConsumerConfigError, type Handler, type Handlers } from '../../shared/consumer';
import type { MeshSpec } from '../../shared/spec';
import type { AnalyticsEventData } from './analytics';
import { AnomalyTally, logAnomaly } from './anomalies';
import type { OrderEventData } from './orders';
import type { ProcessorStore } from './store';

export const SERVICE_NAME = 'processor';

/** Anomalies are logged and tallied only when this delivery committed them ('done'), never for a duplicate. */
export function ordersHandler(store: ProcessorStore, anomalies = new AnomalyTally()): Handler<OrderEventData> {
  return async (decoded, ctx) => {
    const topic = ctx.consumer.topic;
    const { result, anomaly } = await store.applyOrderEvent(ctx.consumer.name, decoded, topic);
    if (anomaly) {
      anomalies.record(topic, anomaly.kind);
      logAnomaly(ctx.log, topic, anomaly);
    }
    return result;
  };
}

export function analyticsHandler(store: ProcessorStore): Handler<AnalyticsEventData> {
  return async (decoded, ctx) => (await store.applyAnalyticsEvent(ctx.consumer.name, decoded)).result;
}

const BY_TOPIC: Record<string, (store: ProcessorStore, anomalies: AnomalyTally) => Handler> = {
  orders: ordersHandler,
  analytics: analyticsHandler,
};

/** consumer name -> handler for every push/pull consumer the spec gives the processor. */
export function processorHandlers(spec: MeshSpec, store: ProcessorStore, serviceName = SERVICE_NAME, anomalies = new AnomalyTally()): Handlers {
  const handlers: Handlers = {};
  for (const name of spec.services[serviceName]?.consumers ?? []) {
    const consumer = spec.consumers[name];
    if (consumer.delivery !== 'push' && consumer.delivery !== 'pull') continue;
    const make = BY_TOPIC[consumer.topic];
    if (!make)
      throw new ConsumerConfigError(
        `consumer ${name}: the processor has no handler for topic "${consumer.topic}" (handles ${Object.keys(BY_TOPIC).join(', ')})`,
      );
    handlers[name] = make(store, anomalies);
  }
  return handlers;
}
