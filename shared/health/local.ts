/**
 * Consumer health on the emulators, which keep no metrics. The equivalent measure:
 *  - a tap subscription per topic (`<topic>-mesh-tap`, created by `mesh apply --local`) shows every
 *    message published, with its publish time;
 *  - every consumer runtime reports which message ids it acked (GET /stats/acks on its service);
 *  - a tap on each dead-letter topic (`<c>-dlq-mesh-tap`) shows what Pub/Sub dead-lettered, and a
 *    tap on each redrive topic (`<c>-redrive-mesh-tap`) what `mesh dead-letters --redrive` sent
 *    back: dead letters waiting = dead-lettered - redriven (what else leaves a hold, e.g. a message
 *    pulled from it by hand or expired after 7 days, the emulator cannot tell).
 * A consumer's backlog is what the topic tap saw that the consumer has neither acked nor had
 * dead-lettered; its lag is the age of the oldest such message. Messages published before this
 * monitor started are not known to it.
 */
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import { localTapNames } from '../spec/names';
import type { MeshSpec } from '../spec/types';
import { judge, type ConsumerHealth, type HealthSource } from './types';

/** A page of acked message ids: the ids after the cursor passed in, and the cursor to pass next. */
export interface AckBatch {
  ids: string[];
  next: number;
  /**
   * The consumer's process restarted since the last page: what the old process acked after the last
   * page it gave is lost (read from 0 again, i.e. from the new process's first ack).
   */
  restarted?: boolean;
}

/**
 * Where acked message ids come from: the ids a consumer acked after cursor `after` (0 = from the
 * start of what the runtime keeps). The reader keeps its cursor, so several readers can share one
 * source without stealing each other's ids (see GET /stats/acks in shared/consumer/service.ts).
 */
export type AckSource = (consumer: string, after: number) => Promise<AckBatch>;

/** Acks kept per consumer while waiting for the tap to show their message. */
const MAX_EARLY_ACKS = 100_000;

interface ConsumerLedger {
  /** messageId -> publish time (ms) of messages not acked yet. */
  unacked: Map<string, number>;
  /** Acks reported before the tap saw the message (the tap is another subscriber, it can lag). */
  early: Set<string>;
  deadLettered: number;
  /** Cursor into the consumer's ack source. */
  cursor: number;
  /**
   * Unacked when the consumer's process restarted: each was acked by the old process (the report of
   * it lost) or comes back to the new one within its ack deadline and is acked then. messageId ->
   * when to presume the first.
   */
  uncertain: Map<string, number>;
}

export class LocalTapHealth implements HealthSource {
  private readonly ledgers = new Map<string, ConsumerLedger>();
  /** topic -> ce-id -> messageId, to match Pub/Sub's dead letters (new message ids) to originals. */
  private readonly byEventId = new Map<string, Map<string, string>>();
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly pubsub: PubSub,
    private readonly spec: MeshSpec,
    private readonly acks: AckSource,
  ) {
    for (const c of Object.values(spec.consumers))
      this.ledgers.set(c.name, { unacked: new Map(), early: new Set(), deadLettered: 0, cursor: 0, uncertain: new Map() });
    for (const t of Object.keys(spec.topics)) this.byEventId.set(t, new Map());
  }

  start(): void {
    for (const topic of Object.keys(this.spec.topics)) {
      this.listen(localTapNames.topicTap(topic), (m) => this.published(topic, m));
    }
    for (const c of Object.values(this.spec.consumers)) {
      this.listen(localTapNames.deadLetterTap(c.name), (m) => this.deadLettered(c.name, m));
      this.listen(localTapNames.redriveTap(c.name), () => this.redriven(c.name));
    }
  }

  private listen(subscription: string, onMessage: (m: Message) => void): void {
    const sub = this.pubsub.subscription(subscription, { flowControl: { maxMessages: 5000 } });
    sub.on('message', (m: Message) => {
      onMessage(m);
      m.ack();
    });
    sub.on('error', () => undefined); // the client reconnects; health is best effort
    this.subscriptions.push(sub);
  }

  private published(topic: string, m: Message): void {
    const eventId = m.attributes['ce-id'];
    if (eventId) this.byEventId.get(topic)!.set(eventId, m.id);
    for (const c of Object.values(this.spec.consumers)) {
      if (c.topic !== topic) continue;
      const ledger = this.ledgers.get(c.name)!;
      if (ledger.early.delete(m.id)) continue;
      ledger.unacked.set(m.id, m.publishTime.getTime());
    }
  }

  private deadLettered(consumer: string, m: Message): void {
    const ledger = this.ledgers.get(consumer)!;
    ledger.deadLettered++;
    // Pub/Sub's own dead letters (after max attempts) carry a new message id: match on the event id.
    const topic = this.spec.consumers[consumer].topic;
    const original = m.attributes.messageId ?? this.byEventId.get(topic)!.get(m.attributes['ce-id'] ?? '');
    if (original) ledger.unacked.delete(original);
  }

  /** One held message sent back to the consumer: it no longer waits in the hold. */
  private redriven(consumer: string): void {
    const ledger = this.ledgers.get(consumer)!;
    ledger.deadLettered = Math.max(0, ledger.deadLettered - 1);
  }

  /** Applies acks reported since the last read, then measures. */
  async read(): Promise<ConsumerHealth[]> {
    const now = Date.now();
    return Promise.all(
      Object.values(this.spec.consumers).map(async (c) => {
        const ledger = this.ledgers.get(c.name)!;
        // A source that is down (service not started yet) leaves the cursor where it was.
        const batch = await this.acks(c.name, ledger.cursor).catch(() => undefined);
        if (batch) {
          ledger.cursor = batch.next;
          if (batch.restarted) {
            // Leased by the dead process and not acked: back to the new one after the ack deadline.
            const presumeAt = now + (2 * c.ackDeadlineSeconds + 10) * 1000;
            for (const id of ledger.unacked.keys()) ledger.uncertain.set(id, presumeAt);
          }
          for (const id of batch.ids) if (!ledger.unacked.delete(id)) ledger.early.add(id);
          // Acks of messages the tap never shows (published before it existed) must not pile up.
          for (const id of ledger.early) {
            if (ledger.early.size <= MAX_EARLY_ACKS) break;
            ledger.early.delete(id);
          }
        }
        for (const [id, presumeAt] of ledger.uncertain) {
          if (!ledger.unacked.has(id)) ledger.uncertain.delete(id);
          else if (now >= presumeAt) {
            ledger.unacked.delete(id);
            ledger.uncertain.delete(id);
          }
        }
        let oldest = Infinity;
        for (const t of ledger.unacked.values()) if (t < oldest) oldest = t;
        return judge({
          consumer: c.name,
          topic: c.topic,
          backlog: ledger.unacked.size,
          oldestUnackedSeconds: ledger.unacked.size ? Math.max(0, (now - oldest) / 1000) : null,
          deadLettered: ledger.deadLettered,
          slo: { oldestUnackedSeconds: c.lagSlo.oldestUnackedSeconds, backlog: c.lagSlo.backlog },
          source: 'local',
        });
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.subscriptions.splice(0).map((s) => s.close()));
  }
}
