/**
 * Local stand-in for Pub/Sub's native BigQuery subscriptions (BigQuery-kind consumers such as
 * archive-orders). In GCP, Pub/Sub itself writes each message into the consumer's table (infra sets
 * `bigqueryConfig {table, writeMetadata: true}`); the emulator stores such a subscription but never
 * writes it, so `mesh apply --local` makes it a plain pull subscription and the warehouse drains it
 * here, into a table of the same columns:
 *
 *   subscription_name, message_id, publish_time, data (the payload as text), attributes (JSON)
 *
 * Raw, like Pub/Sub does it: no envelope or schema decoding, so a message the warehouse's own
 * consumers dead-letter as poison is still archived. The insertId is the message id and its publish
 * time, so a message lands at most once however often it is redelivered (in GCP a message id alone is
 * unique; a Pub/Sub emulator that restarted hands its ids out again from 1, on new messages). A row BigQuery refuses goes to the consumer's
 * dead-letter topic, as Pub/Sub does for a BigQuery subscription with a dead-letter policy.
 *
 * Each consumer runs on the runtime's pipeline (shared/consumer/pipeline.ts) with a raw handler: the
 * same error classification, dead-lettering (at once for poison, on the last delivery attempt for a
 * transient failure), counters and ack log as every other consumer.
 */
import type { Dataset, Table } from '@google-cloud/bigquery';
import type { PubSub } from '@google-cloud/pubsub';
import {
  createPipeline,
  DeadLetterPublisher,
  InFlight,
  pullsOf,
  type PullConsumer,
  type AckLog,
  type LatencyRecorder,
  type ServiceStats,
  type ConsumerCounters,
  type DeadLetterSink,
  type Logger,
  type Pipeline,
  type PullTransport,
} from '../../shared/consumer';
import type { IncomingMessage } from '../../shared/envelope';
import type { ConsumerSpec, MeshSpec } from '../../shared/spec';
import { bigquerySubscriptionTableSchema, type InsertRow } from '../../shared/warehouse';
import { ensureTable, type TableChange } from './tables';
import type { WarehouseLoader } from './loader';
import { PullSet } from './pull-set';

/** The spec's BigQuery-kind consumers. */
export const bigqueryConsumers = (spec: MeshSpec): ConsumerSpec[] => Object.values(spec.consumers).filter((c) => c.delivery === 'bigquery' && c.table);

/** Each BigQuery-kind consumer's table, laid out and partitioned as infra/warehouse.ts creates it in GCP. */
export async function ensureArchiveTables(dataset: Dataset, spec: MeshSpec): Promise<{ tables: Record<string, Table>; changes: TableChange[] }> {
  const tables: Record<string, Table> = {};
  const changes: TableChange[] = [];
  const consumers = bigqueryConsumers(spec);
  for (const tableId of new Set(consumers.map((c) => c.table!))) {
    const { table, change } = await ensureTable(dataset, tableId, bigquerySubscriptionTableSchema(), {
      description: `Written by Pub/Sub for ${consumers
        .filter((c) => c.table === tableId)
        .map((c) => c.name)
        .join(', ')} (locally: by the warehouse).`,
      timePartitioning: { type: 'DAY', field: 'publish_time' },
    });
    tables[tableId] = table;
    changes.push(change);
  }
  return { tables, changes };
}

/** The row a BigQuery subscription with writeMetadata writes for one message. */
export function archiveRow(message: IncomingMessage, subscription: string): InsertRow {
  return {
    insertId: `${message.messageId}@${message.publishTime?.toISOString() ?? ''}`,
    json: {
      subscription_name: subscription,
      message_id: message.messageId,
      publish_time: message.publishTime ? message.publishTime.toISOString() : null,
      data: message.data.toString('utf8'),
      attributes: JSON.stringify(message.attributes ?? {}),
    },
  };
}

export interface ArchiveDrainOptions {
  spec: MeshSpec;
  pubsub: PubSub;
  loader: WarehouseLoader;
  log: Logger;
  /** Dead-letter sink per consumer; default a DeadLetterPublisher on the consumer's dead-letter topic. */
  deadLetter?: (consumer: ConsumerSpec) => DeadLetterSink;
  maxStreams?: number;
  pullTransport?: PullTransport;
  /** The service's stats (counters and ack logs for these consumers); default private counters. */
  stats?: ServiceStats;
}

/** Pulls every BigQuery-kind consumer's subscription into its table. */
export class ArchiveDrain {
  readonly consumers: ConsumerSpec[];
  /** consumer name -> its pipeline (archive row, dead-letter), for tests. */
  readonly pipelines: Record<string, Pipeline> = {};
  private readonly pulls: PullConsumer[] = [];
  private readonly sinks: DeadLetterSink[] = [];
  private readonly counters = new Map<string, ConsumerCounters>();
  private readonly inFlight = new InFlight();
  private readonly set: PullSet;

  constructor(private readonly options: ArchiveDrainOptions) {
    this.consumers = bigqueryConsumers(options.spec);
    for (const consumer of this.consumers) {
      const sink = options.deadLetter?.(consumer) ?? new DeadLetterPublisher({ pubsub: options.pubsub, consumer });
      const counters: ConsumerCounters = options.stats?.of(consumer.name) ?? { received: 0, done: 0, duplicate: 0, deadLettered: 0, failed: 0 };
      this.sinks.push(sink);
      this.counters.set(consumer.name, counters);
      const pipeline = (this.pipelines[consumer.name] = this.pipeline(
        consumer,
        sink,
        counters,
        options.stats?.acksOf(consumer.name),
        options.stats?.latencyOf(consumer.name),
      ));
      // In GCP the redrive subscription is a BigQuery subscription as well; here it is drained too.
      this.pulls.push(
        ...pullsOf({ pubsub: options.pubsub, consumer, pipeline, log: options.log, maxStreams: options.maxStreams, transport: options.pullTransport }),
      );
    }
    this.set = new PullSet(this.pulls, this.inFlight, options.log, 'archive rows');
  }

  get ready(): boolean {
    return this.set.ready;
  }

  start(): Promise<void> {
    return this.set.start();
  }

  /** Stops intake, waits (at most `timeoutMs`) for rows being written, closes the streams, flushes dead letters. */
  async stop(timeoutMs: number): Promise<void> {
    await this.set.stop(timeoutMs);
    await Promise.all(this.sinks.map((s) => s.flush()));
  }

  /** consumer name -> counters, like the runtime's /stats. */
  stats(): Record<string, ConsumerCounters & { table: string; ready: boolean }> {
    return Object.fromEntries(this.consumers.map((c) => [c.name, { table: c.table!, ready: this.set.readyOf(c.name), ...this.counters.get(c.name)! }]));
  }

  private pipeline(consumer: ConsumerSpec, sink: DeadLetterSink, counters: ConsumerCounters, acked?: AckLog, latency?: LatencyRecorder): Pipeline {
    const { spec, loader, log } = this.options;
    return createPipeline({
      spec,
      consumer,
      delivery: 'pull',
      rawHandler: async (message, ctx) => {
        await loader.loadRow(consumer.table!, archiveRow(message, ctx.subscription));
        return 'done';
      },
      deadLetter: sink,
      counters,
      acked,
      latency,
      log: log.child({ archive: consumer.table }),
      inFlight: this.inFlight,
    });
  }
}
