/**
 * The warehouse's handler per consumer: every push/pull consumer of the service loads its topic's
 * events into `<topic>_events`, whatever the topic, so a spec that adds a topic and a warehouse
 * consumer for it needs no code change.
 *
 * The handler resolves only when its row's batch is written, so the runtime acks after the write.
 */
import type { Handler, Handlers } from '../../shared/consumer';
import type { MeshSpec } from '../../shared/spec';
import type { WarehouseLoader } from './loader';

export const SERVICE_NAME = 'warehouse';

export function eventsHandler(loader: WarehouseLoader): Handler {
  return async (decoded, ctx) => {
    const outcome = await loader.loadEvent(ctx.consumer, decoded);
    if (outcome === 'dead-lettered' && ctx.log.isLevelEnabled('debug'))
      ctx.log.debug({ eventId: decoded.event.id, messageId: decoded.messageId }, 'row refused by BigQuery, written to dead_letters');
    return 'done';
  };
}

/** consumer name -> handler for every push/pull consumer the spec gives the warehouse. */
export function warehouseHandlers(spec: MeshSpec, loader: WarehouseLoader, serviceName = SERVICE_NAME): Handlers {
  const handlers: Handlers = {};
  const handler = eventsHandler(loader);
  for (const name of spec.services[serviceName]?.consumers ?? []) {
    const consumer = spec.consumers[name];
    if (consumer.delivery === 'push' || consumer.delivery === 'pull') handlers[name] = handler;
  }
  return handlers;
}
