/**
 * Every dead letter of every consumer, copied into BigQuery's `dead_letters`, locally and in GCP.
 *
 * A dead letter waits in its consumer's hold (`<c>-dlq-hold`) for triage, and leaves it when it is
 * redriven, purged, or when the hold's retention ends. The dead-letter topic has a second
 * subscription, `<c>-dlq-archive` (infra/consumers.ts, `mesh apply --local`), which this drains into
 * `dead_letters`: one row per dead-lettering with the message as received (data, attributes), why
 * (reason, error), whose (consumer, topic) and when it was first seen there (dead_lettered_at = its
 * publish time on the dead-letter topic). The row outlives the hold, so analysts can count what the
 * mesh gave up on and operators can find a message that was purged.
 *
 * Not a Pub/Sub BigQuery subscription: that writes only the raw metadata columns (subscription_name,
 * message_id, publish_time, data, attributes), and the consumer, topic and reason columns that triage
 * groups by are derived here. One code path for both targets, too: the emulator never writes
 * BigQuery subscriptions.
 *
 * The insertId is the dead-letter message's id and publish time, so a redelivered copy lands once; a
 * message dead-lettered twice (by the runtime and by Pub/Sub, or again after a redrive) has two rows,
 * as it was twice given up on: count distinct event_id for events.
 */
import type { PubSub } from '@google-cloud/pubsub';
import {
  createPipeline,
  deadLetterReasonOf,
  InFlight,
  PullConsumer,
  PUBSUB_DEAD_LETTER_PREFIX,
  type ConsumerCounters,
  type DeadLetterSink,
  type Logger,
  type PullTransport,
} from '../../shared/consumer';
import type { IncomingMessage } from '../../shared/envelope';
import { consumerResources, type ConsumerSpec, type MeshSpec } from '../../shared/spec';
import { DEAD_LETTERS_TABLE, deadLetterRow, type InsertRow } from '../../shared/warehouse';
import type { WarehouseLoader } from './loader';
import { PullSet } from './pull-set';

/** The `dead_letters` row of one message of `<c>-dlq-archive`. */
export function archivedDeadLetterRow(consumer: Pick<ConsumerSpec, 'name' | 'topic'>, message: IncomingMessage): InsertRow {
  const attributes = message.attributes ?? {};
  const forwardedAfter = attributes[`${PUBSUB_DEAD_LETTER_PREFIX}DeliveryCount`];
  const row = deadLetterRow({
    consumer: consumer.name,
    topic: consumer.topic,
    reason: deadLetterReasonOf(attributes),
    error: attributes.error ?? (forwardedAfter ? `Pub/Sub gave up after ${forwardedAfter} delivery attempts` : ''),
    eventId: attributes['ce-id'],
    messageId: message.messageId,
    attributes,
    data: message.data,
    at: message.publishTime,
  });
  // Per dead-lettering, not per event (deadLetterRow's): see the file comment. The publish time
  // tells apart ids a restarted emulator hands out again.
  return { ...row, insertId: `${consumer.name}/dlq/${message.messageId}@${message.publishTime?.toISOString() ?? ''}` };
}

export interface DeadLetterArchiveOptions {
  spec: MeshSpec;
  pubsub: PubSub;
  loader: WarehouseLoader;
  log: Logger;
  /** StreamingPull streams per archive subscription. Default 1: dead letters are few. */
  maxStreams?: number;
  pullTransport?: PullTransport;
}

/** Pulls every consumer's `<c>-dlq-archive` into `dead_letters`. */
export class DeadLetterArchive {
  readonly consumers: ConsumerSpec[];
  private readonly pulls: PullConsumer[] = [];
  private readonly counters = new Map<string, ConsumerCounters>();
  private readonly inFlight = new InFlight();
  private readonly set: PullSet;

  constructor(private readonly options: DeadLetterArchiveOptions) {
    this.consumers = Object.values(options.spec.consumers);
    for (const consumer of this.consumers) {
      const subscription = consumerResources(consumer).deadLetterArchive;
      const counters: ConsumerCounters = { received: 0, done: 0, duplicate: 0, deadLettered: 0, failed: 0 };
      this.counters.set(consumer.name, counters);
      // The archive subscription delivers like a plain pull subscription: no order, no exactly-once,
      // and no dead-letter policy, so a write that fails is retried until it lands.
      const archive: ConsumerSpec = { ...consumer, name: subscription, delivery: 'pull', ordering: false, exactlyOnce: false, ackDeadlineSeconds: 60 };
      const pipeline = createPipeline({
        spec: options.spec,
        consumer: archive,
        delivery: 'pull',
        rawHandler: async (message) => {
          await options.loader.loadRow(DEAD_LETTERS_TABLE, archivedDeadLetterRow(consumer, message));
          return 'done';
        },
        deadLetter: this.refusedRowSink(consumer),
        counters,
        log: options.log.child({ archive: DEAD_LETTERS_TABLE }),
        inFlight: this.inFlight,
      });
      this.pulls.push(
        new PullConsumer({
          pubsub: options.pubsub,
          consumer: archive,
          subscription,
          pipeline,
          log: options.log,
          maxStreams: options.maxStreams ?? 1,
          transport: options.pullTransport,
        }),
      );
    }
    this.set = new PullSet(this.pulls, this.inFlight, options.log, 'dead_letters rows');
  }

  get ready(): boolean {
    return this.set.ready;
  }

  start(): Promise<void> {
    return this.set.start();
  }

  /** Stops intake, waits (at most `timeoutMs`) for rows being written, closes the streams. */
  stop(timeoutMs: number): Promise<void> {
    return this.set.stop(timeoutMs);
  }

  /** consumer name -> what its archive copied (done) and could not (deadLettered: BigQuery refused the row). */
  stats(): Record<string, ConsumerCounters & { subscription: string; ready: boolean }> {
    return Object.fromEntries(
      this.consumers.map((c) => {
        const subscription = consumerResources(c).deadLetterArchive;
        return [c.name, { subscription, ready: this.set.readyOf(subscription), ...this.counters.get(c.name)! }];
      }),
    );
  }

  /**
   * A row BigQuery refuses outright (e.g. past its row size limit) cannot be archived, and a dead
   * letter of a dead letter would loop: it is logged with everything needed to find it, and acked.
   * Nothing is lost with it: the message is still in the consumer's hold.
   */
  private refusedRowSink(consumer: ConsumerSpec): DeadLetterSink {
    const hold = consumerResources(consumer).deadLetterHold;
    return {
      publish: async (message, info) => {
        this.options.log.error(
          { consumer: consumer.name, messageId: message.messageId, eventId: message.attributes?.['ce-id'], error: info.error, hold },
          `BigQuery refused the dead_letters row of a dead letter of ${consumer.name}: it stays only in ${hold}`,
        );
        return `refused:${message.messageId}`;
      },
      flush: async () => undefined,
    };
  }
}
