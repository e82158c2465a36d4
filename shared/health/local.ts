/**
 * Consumer health on the emulators, which keep no metrics. The equivalent measure:
 *  - a tap subscription per topic (`<topic>-mesh-tap`, created by `mesh apply --local`) shows every
 *    message published, with its publish time;
 *  - every consumer runtime reports which message ids it acked (GET /stats/acks on its service);
 *  - a tap on each dead-letter topic (`<c>-dlq-mesh-tap`) shows what Pub/Sub dead-lettered.
 * A consumer's backlog is what the topic tap saw that the consumer has neither acked nor had
 * dead-lettered; its lag is the age of the oldest such message. Messages published before this
 * monitor started are not known to it.
 */
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import { localTapNames } from '../spec/names';
import type { MeshSpec } from '../spec/types';
import { judge, type ConsumerHealth, type HealthSource } from './types';

/** Where acked message ids come from: one call returns the ids acked since the previous call. */
export type AckSource = (consumer: string) => Promise<string[]>;

interface ConsumerLedger {
  /** messageId -> publish time (ms) of messages not acked yet. */
  unacked: Map<string, number>;
  /** Acks reported before the tap saw the message (the tap is another subscriber, it can lag). */
  early: Set<string>;
  deadLettered: number;
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
    for (const c of Object.values(spec.consumers)) this.ledgers.set(c.name, { unacked: new Map(), early: new Set(), deadLettered: 0 });
    for (const t of Object.keys(spec.topics)) this.byEventId.set(t, new Map());
  }

  start(): void {
    for (const topic of Object.keys(this.spec.topics)) {
      this.listen(localTapNames.topicTap(topic), (m) => this.published(topic, m));
    }
    for (const c of Object.values(this.spec.consumers)) {
      this.listen(localTapNames.deadLetterTap(c.name), (m) => this.deadLettered(c.name, m));
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

  /** Applies acks reported since the last call, then measures. */
  async read(): Promise<ConsumerHealth[]> {
    const now = Date.now();
    return Promise.all(
      Object.values(this.spec.consumers).map(async (c) => {
        const ledger = this.ledgers.get(c.name)!;
        const acked = await this.acks(c.name).catch(() => [] as string[]);
        for (const id of acked) if (!ledger.unacked.delete(id)) ledger.early.add(id);
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
