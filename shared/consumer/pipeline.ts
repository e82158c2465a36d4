/**
 * One delivery, whatever the transport: decode -> handler -> outcome. Push and pull both call the
 * function built here and only translate its Outcome (204 / 5xx, ack / nack).
 *
 *   decoded and handled      -> 'done' | 'duplicate'          (ack)
 *   poison (decode or handler PoisonError) -> dead-letter topic -> 'dead-lettered' (ack)
 *       ... dead-letter publish failed                        -> 'retry' (nack)
 *   TransientError or anything else                          -> 'retry' (nack)
 *       ... on the subscription's last delivery attempt       -> dead-letter topic, reason 'max-attempts' (ack)
 *
 * The last-attempt rule gives the same result Pub/Sub's dead-letter policy would (the message
 * ends on the dead-letter topic after maxAttempts failures) with the runtime's attributes (the
 * last error), and it works where Pub/Sub's forwarding does not: the emulator wedges an ordered
 * subscription's stream instead of forwarding (docs/consumers.md). It needs `deliveryAttempt`,
 * which pull always has and push has only from real Pub/Sub; without it Pub/Sub forwards.
 *
 * A `rawHandler` takes the message as received instead, with no envelope or schema decoding (the
 * warehouse's local drain of BigQuery-kind consumers, services/warehouse/archive.ts, which archives
 * even what the decoder would call poison); everything after the handler is the same.
 */
import { traceparentOf, type IncomingMessage } from '../envelope';
import type { ConsumerSpec, MeshSpec } from '../spec/types';
import { isLastAttempt, type DeadLetterSink } from './dead-letter';
import { classifyError } from './classify';
import { TransientError } from './errors';
import { createDecoder } from './decode';
import type { InFlight } from './inflight';
import { traceFields, type Logger } from './logger';
import type { LatencyRecorder } from './latency';
import type { AckLog, ConsumerCounters } from './stats';
import type { DecodedEvent, DeliveryContext, DeliveryKind, Handler, HandlerResult, Outcome } from './types';

/** A handler of the message as received: no envelope or schema decoding. */
export type RawHandler = (message: IncomingMessage, ctx: DeliveryContext) => Promise<HandlerResult>;

/** The consumer's handler, of the decoded event (every service's consumers) or of the raw message. */
type PipelineHandler = { handler: Handler; rawHandler?: undefined } | { rawHandler: RawHandler; handler?: undefined };

export type PipelineOptions = PipelineHandler & {
  spec: MeshSpec;
  consumer: ConsumerSpec;
  delivery: DeliveryKind;
  deadLetter: DeadLetterSink;
  counters: ConsumerCounters;
  /** Records the message id of every delivery that ends in an ack (done, duplicate, dead-lettered). */
  acked?: AckLog;
  /** Records publish-to-effect latency of every event handled with an effect (not duplicates, not dead letters). */
  latency?: LatencyRecorder;
  log: Logger;
  /** Tracks running deliveries so shutdown can wait for them. */
  inFlight?: InFlight;
  /** GCP project for `logging.googleapis.com/trace`; default: bare trace ids. */
  traceProject?: string;
  /**
   * A handler that has not finished within this fails as transient (the message is retried) instead
   * of holding its slot while a dependency hangs. Default DEFAULT_HANDLER_TIMEOUT_MS; 0 = none.
   */
  handlerTimeoutMs?: number;
};

/** 10 s: far above a healthy Firestore commit or BigQuery insert, far below an ack deadline's worth of a stuck slot. */
export const DEFAULT_HANDLER_TIMEOUT_MS = 10_000;

/** Processes one message; never throws. `subscription` names the source for the dead-letter attributes. */
export type Pipeline = (message: IncomingMessage, subscription: string) => Promise<Outcome>;

export function createPipeline(options: PipelineOptions): Pipeline {
  const { consumer, delivery, handler, rawHandler, deadLetter, counters, acked, latency, inFlight, traceProject } = options;
  const handlerTimeoutMs = options.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
  const decode = rawHandler ? undefined : createDecoder(options.spec, consumer);
  const consumerLog = options.log.child({ consumer: consumer.name });

  const run = async (message: IncomingMessage, subscription: string): Promise<Outcome> => {
    counters.received++;
    const ctx = new MessageContext(consumer, delivery, subscription, message, consumerLog, traceProject);
    const debug = consumerLog.isLevelEnabled('debug');
    let decoded: DecodedEvent | undefined;
    try {
      let result: HandlerResult;
      if (rawHandler) result = await withDeadline(rawHandler(message, ctx), handlerTimeoutMs);
      else {
        decoded = decode!(message);
        result = await withDeadline(handler(decoded, ctx), handlerTimeoutMs);
      }
      acked?.record(message.messageId);
      if (result === 'duplicate') {
        counters.duplicate++;
        if (debug) ctx.log.debug({ messageId: message.messageId, eventId: decoded?.event.id }, 'duplicate event, acked without effect');
        return 'duplicate';
      }
      counters.done++;
      latency?.record(message.publishTime);
      if (debug) ctx.log.debug({ messageId: message.messageId, eventId: decoded?.event.id, type: decoded?.event.type }, 'event handled');
      return 'done';
    } catch (error) {
      const log = ctx.log;
      const verdict = classifyError(error);
      const fields = { messageId: message.messageId, eventId: decoded?.event.id ?? message.attributes?.['ce-id'], deliveryAttempt: message.deliveryAttempt };
      let reason: string;
      if (verdict.kind === 'transient') {
        counters.failed++;
        if (!isLastAttempt(consumer, message.deliveryAttempt)) {
          if (verdict.expected) log.warn({ ...fields, error: verdict.message }, 'transient failure, will be retried');
          else log.error({ ...fields, err: error }, 'handler failed unexpectedly, will be retried');
          return 'retry';
        }
        reason = 'max-attempts';
      } else reason = verdict.reason;
      try {
        const deadLetterId = await deadLetter.publish(message, { reason, error: verdict.message, consumer: consumer.name, sourceSubscription: subscription });
        counters.deadLettered++;
        acked?.record(message.messageId);
        log.warn({ ...fields, reason, error: verdict.message, deadLetterId }, `dead-lettered: ${reason}`);
        return 'dead-lettered';
      } catch (publishError) {
        if (verdict.kind === 'poison') counters.failed++;
        log.error({ ...fields, reason, err: publishError }, 'dead-letter publish failed; message will be retried');
        return 'retry';
      }
    }
  };

  if (!inFlight) return run;
  return (message, subscription) => inFlight.track(run(message, subscription));
}

/**
 * The handler's result, or a TransientError once `ms` passed. The handler itself cannot be
 * cancelled and may still finish later: its effect is idempotent per event id (dedup records,
 * insertIds), so the redelivery then counts as a duplicate, never twice.
 */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  if (!(ms > 0) || ms === Infinity) return work;
  // One promise and one timer per message (Promise.race and finally() made three more on the hot path).
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new TransientError(`handler did not finish within ${ms} ms (a dependency slow or unreachable); the message will be retried`)),
      ms,
    );
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the handler's own rejection, passed on as it is
        reject(error);
      },
    );
  });
}

/**
 * A message's DeliveryContext. Its logger carries the message's trace fields; most messages log
 * nothing, so it is made on first use rather than per message (a traceparent parse and a pino child
 * on the hot path), and the context is a class so a message costs no closures.
 */
class MessageContext implements DeliveryContext {
  private messageLog?: Logger;

  constructor(
    readonly consumer: ConsumerSpec,
    readonly delivery: DeliveryKind,
    readonly subscription: string,
    private readonly message: IncomingMessage,
    private readonly consumerLog: Logger,
    private readonly traceProject: string | undefined,
  ) {}

  get log(): Logger {
    if (this.messageLog) return this.messageLog;
    const trace = traceFields(traceparentOf(this.message.attributes), this.traceProject);
    return (this.messageLog = trace ? this.consumerLog.child(trace) : this.consumerLog);
  }
}
