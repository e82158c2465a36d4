/**
 * The dashboard's handler per consumer: turn the event into its contribution and wait until the
 * aggregator has committed it (the runtime acks when the promise resolves). Any topic works: the
 * contribution reads analytics and orders fields when they are there.
 */
import type { Handler, Handlers } from '../../shared/consumer';
import type { MeshSpec } from '../../shared/spec';
import type { Aggregator } from './aggregator';
import { contributionOf } from './windows';

export const SERVICE_NAME = 'dashboard';

export function countingHandler(aggregator: Aggregator): Handler {
  return async (decoded, ctx) => aggregator.add(contributionOf(ctx.consumer.name, ctx.consumer.topic, decoded));
}

/** consumer name -> handler for every push/pull consumer the spec gives the dashboard. */
export function dashboardHandlers(spec: MeshSpec, aggregator: Aggregator, serviceName = SERVICE_NAME): Handlers {
  const handlers: Handlers = {};
  const handler = countingHandler(aggregator);
  for (const name of spec.services[serviceName]?.consumers ?? []) {
    const consumer = spec.consumers[name];
    if (consumer.delivery === 'push' || consumer.delivery === 'pull') handlers[name] = handler;
  }
  return handlers;
}
