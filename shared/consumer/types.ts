/** The handler contract: one signature per consumer, whatever the delivery kind. */
import type { Logger } from 'pino';
import type { MeshEvent } from '../envelope';
import type { ConsumerSpec } from '../spec/types';

/** An event as a handler sees it: envelope checked, `data` validated and read as the topic's current revision. */
export interface DecodedEvent<T = Record<string, unknown>> {
  /** `event.schemaVersion` is the revision the producer wrote; `event.data` is already read as `readAs`. */
  event: MeshEvent<T>;
  /** The topic's current revision, the shape of `event.data`. */
  readAs: string;
  /** Pub/Sub's id of this message; a republished event has a new one (dedup on `event.id`). */
  messageId: string;
  publishTime?: Date;
  orderingKey?: string;
  /** 1 on first delivery; only known with a dead-letter policy (always for pull, never on the emulator's push). */
  deliveryAttempt?: number;
  /** All message attributes, as received. */
  attributes: Readonly<Record<string, string>>;
}

export type DeliveryKind = 'push' | 'pull';

export interface DeliveryContext {
  consumer: ConsumerSpec;
  delivery: DeliveryKind;
  /** Full subscription path when known (projects/p/subscriptions/s), else the subscription id. */
  subscription: string;
  /** Logger bound to the consumer, the message and (when the message carries `traceparent`) its trace. */
  log: Logger;
}

/**
 * 'done': the effect is written. 'duplicate': this event id was handled before, nothing changed.
 * Both ack. Throw TransientError to retry, PoisonError to dead-letter now.
 */
export type HandlerResult = 'done' | 'duplicate';

export type Handler<T = any> = (event: DecodedEvent<T>, ctx: DeliveryContext) => Promise<HandlerResult>;

/** consumer name -> handler. */
export type Handlers = Record<string, Handler>;

/** What the runtime did with one delivery. */
export type Outcome = 'done' | 'duplicate' | 'dead-lettered' | 'retry';
