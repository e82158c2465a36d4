/** consumer name -> handler: every consumer the spec gives the fraud scorer scores payments. */
import { ConsumerConfigError, type Handler, type Handlers } from '../../shared/consumer';
import type { MeshSpec } from '../../shared/spec';
import type { PaymentEventData } from './scoring';
import type { RiskStore } from './store';

export const SERVICE_NAME = 'fraud-scorer';

export function fraudHandlers(spec: MeshSpec, store: RiskStore): Handlers {
  const handlers: Handlers = {};
  for (const name of spec.services[SERVICE_NAME]?.consumers ?? []) {
    const consumer = spec.consumers[name];
    if (consumer.delivery === 'bigquery') continue;
    if (consumer.topic !== 'payments') throw new ConsumerConfigError(`consumer ${name}: the fraud scorer scores the payments topic, not "${consumer.topic}"`);
    const handler: Handler<PaymentEventData> = (decoded, ctx) => store.apply(ctx.consumer.name, decoded);
    handlers[name] = handler as Handler;
  }
  return handlers;
}
