/**
 * The dashboard's handler per consumer: turn the event into its contribution and wait until the
 * aggregator has committed it (the runtime acks when the promise resolves). Any topic works: the
 * contribution reads analytics and orders fields when they are there.
 */
import type { Handler, Handlers } from '../../shared/consumer';
import type { MeshSpec } from '../../shared/spec';
import type { Aggregator } from './aggregator';
import type { HotKeyTracker } from '../../shared/health/hot-keys';
import { contributionOf } from './windows';

export const SERVICE_NAME = 'dashboard';

/**
 * Counts the event into its windows; once counted (not a duplicate), its ordering key into the hot
 * keys of its topic (hot-keys.ts), read from the data by the spec's ordering key field.
 */
export function countingHandler(spec: MeshSpec, aggregator: Aggregator, hotKeys?: HotKeyTracker): Handler {
  return async (decoded, ctx) => {
    const result = await aggregator.add(contributionOf(ctx.consumer.name, ctx.consumer.topic, decoded));
    const field = spec.topics[ctx.consumer.topic]?.orderingKeyField;
    const key = field ? (decoded.event.data as Record<string, unknown>)[field] : undefined;
    if (hotKeys && result !== 'duplicate' && (typeof key === 'string' || typeof key === 'number'))
      hotKeys.record(ctx.consumer.topic, String(key), Buffer.byteLength(JSON.stringify(decoded.event.data)));
    return result;
  };
}

/** consumer name -> handler for every push/pull consumer the spec gives the dashboard. */
export function dashboardHandlers(spec: MeshSpec, aggregator: Aggregator, serviceName = SERVICE_NAME, hotKeys?: HotKeyTracker): Handlers {
  const handlers: Handlers = {};
  const handler = countingHandler(spec, aggregator, hotKeys);
  for (const name of spec.services[serviceName]?.consumers ?? []) {
    const consumer = spec.consumers[name];
    if (consumer.delivery === 'push' || consumer.delivery === 'pull') handlers[name] = handler;
  }
  return handlers;
}
