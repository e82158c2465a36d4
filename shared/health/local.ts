/**
 * Consumer health on the emulators, which keep no metrics. The equivalent measure:
 *  - a tap subscription per topic (`<topic>-mesh-tap`, created by `mesh apply --local`) shows every
 *    message published, with its publish time;
 *  - every consumer runtime reports which message ids it acked (GET /stats/acks on its service);
 *  - a tap on each dead-letter topic (`<c>-dlq-mesh-tap`) shows what Pub/Sub dead-lettered, and a
 *    tap on each redrive topic (`<c>-redrive-mesh-tap`) what `mesh dead-letters --redrive` sent
 *    back, and `mesh dead-letters --purge` announces what it took (`mesh-hold-exits`): dead letters
 *    waiting = dead-lettered - redriven - purged, with their reasons and ages (hold-ledger.ts). What a replay sends
 *    there (attribute replayId) came from no hold: it is the private path's backlog, with redriven
 *    messages, until the consumer acks it.
 * A consumer's backlog is what the topic tap saw that the consumer has neither acked nor had
 * dead-lettered; its lag is the age of the oldest such message. Messages published before this
 * monitor started are not known to it.
 *
 * A tap message published before this monitor started (the tap hands it over again: the monitor
 * before it, e.g. a dashboard that was killed, had it leased) may have been acked by a consumer
 * process that reported it to that monitor only, or that died since: such a message counts as
 * backlog for two ack deadlines (plus 10 s), in which the consumer either reports its ack or, had
 * it not acked it, gets it again and acks it then; after that it is presumed acked. The same rule
 * holds when a consumer's process restarts. A consumer stuck on such a message longer than that is
 * not shown; anything published since is.
 *
 * A restarted emulator (`npm start` restarts one that crashed) holds nothing and numbers its message
 * ids from 1 again: when the spec's schemas show new revision ids (apply committed them again), what
 * the ledgers hold is dropped, and the taps are reopened (the client gives up on a tap that was
 * missing for a moment, and backs off up to a minute while the emulator is gone).
 */
import { Duration, type Message, type PubSub, type Subscription } from '@google-cloud/pubsub';
import { REPLAY_ID_ATTRIBUTE } from '../replay/attribute';
import { localTapNames, subscriptionRetentionSeconds, triageSlaSeconds, type HoldExitNotice } from '../spec/names';
import { HoldLedger } from './hold-ledger';
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
  /** What waits in the consumer's dead-letter hold (hold-ledger.ts). */
  hold: HoldLedger;
  /** messageId -> publish time (ms) of what the redrive tap saw (replays, redrives) not acked yet. */
  privatePath: Map<string, number>;
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
  private closed = false;
  /** Messages published before this are inherited from an earlier monitor (see above). */
  private startedAt = Infinity;
  /** The emulator instance the ledgers are about (instanceId()); undefined until first seen. */
  private instance?: string;

  constructor(
    private readonly pubsub: PubSub,
    private readonly spec: MeshSpec,
    private readonly acks: AckSource,
  ) {
    for (const c of Object.values(spec.consumers))
      this.ledgers.set(c.name, { unacked: new Map(), early: new Set(), hold: new HoldLedger(), privatePath: new Map(), cursor: 0, uncertain: new Map() });
    for (const t of Object.keys(spec.topics)) this.byEventId.set(t, new Map());
  }

  start(): void {
    this.startedAt = Date.now();
    for (const topic of Object.keys(this.spec.topics)) {
      this.listen(localTapNames.topicTap(topic), (m) => this.published(topic, m));
    }
    for (const c of Object.values(this.spec.consumers)) {
      this.listen(localTapNames.deadLetterTap(c.name), (m) => this.deadLettered(c.name, m));
      this.listen(localTapNames.redriveTap(c.name), (m) => this.redriven(c.name, m));
    }
    this.listen(localTapNames.holdExitsTap, (m) => this.holdExits(m));
  }

  private listen(subscription: string, onMessage: (m: Message) => void): void {
    const sub = this.pubsub.subscription(subscription, {
      flowControl: { maxMessages: 5000 },
      // One stream, not the client's five: a tap is light, and each stream open when the process is
      // killed costs the emulator a thread for good (shared/consumer/subscriber-rpc.ts).
      streamingOptions: { maxStreams: 1 },
      // Its acks may be unsendable (emulator gone): do not wait on them when reopening.
      closeOptions: { timeout: Duration.from({ seconds: 2 }) },
    });
    sub.on('message', (m: Message) => {
      onMessage(m);
      m.ack();
    });
    sub.on('error', () => undefined); // UNAVAILABLE is retried by the client; anything else closes it (below)
    // Closed by the client giving up (e.g. NOT_FOUND) or by restarted(): open it again.
    sub.on('close', () => {
      setTimeout(() => {
        if (!this.closed) sub.open();
      }, 1000).unref();
    });
    this.subscriptions.push(sub);
  }

  /**
   * Which emulator instance holds the spec: the first topic's schema revision id (apply commits new
   * ones to an emulator that restarted empty); '' while it lacks the topic, undefined if unreachable.
   */
  private async instanceId(): Promise<string | undefined> {
    const topic = Object.keys(this.spec.topics)[0];
    if (!topic) return undefined;
    try {
      const [metadata] = await this.pubsub.topic(topic).getMetadata({ timeout: 2000, retry: null });
      return metadata.schemaSettings?.firstRevisionId ?? '';
    } catch (error) {
      return (error as { code?: number }).code === 5 ? '' : undefined;
    }
  }

  /** The emulator restarted: what the ledgers hold is gone from it, and its message ids start again. */
  private restarted(): void {
    for (const ledger of this.ledgers.values()) {
      ledger.unacked.clear();
      ledger.early.clear();
      ledger.uncertain.clear();
      ledger.privatePath.clear();
      ledger.hold.clear();
    }
    for (const ids of this.byEventId.values()) ids.clear();
    // Closing resets the client's reconnect backoff; the 'close' listener opens each again.
    for (const sub of this.subscriptions) void sub.close().catch(() => undefined);
  }

  private published(topic: string, m: Message): void {
    const eventId = m.attributes['ce-id'];
    if (eventId) this.byEventId.get(topic)!.set(eventId, m.id);
    for (const c of Object.values(this.spec.consumers)) {
      if (c.topic !== topic) continue;
      const ledger = this.ledgers.get(c.name)!;
      if (ledger.early.delete(m.id)) continue;
      ledger.unacked.set(m.id, m.publishTime.getTime());
      if (m.publishTime.getTime() < this.startedAt) ledger.uncertain.set(m.id, Date.now() + (2 * c.ackDeadlineSeconds + 10) * 1000);
    }
  }

  private deadLettered(consumer: string, m: Message): void {
    const ledger = this.ledgers.get(consumer)!;
    ledger.hold.deadLettered(m.id, m.attributes, m.publishTime.getTime());
    // Pub/Sub's own dead letters (after max attempts) carry a new message id: match on the event id.
    const topic = this.spec.consumers[consumer].topic;
    const original = m.attributes.messageId ?? this.byEventId.get(topic)!.get(m.attributes['ce-id'] ?? '');
    if (original) ledger.unacked.delete(original);
  }

  /**
   * A message on the consumer's private path: waiting there until acked; and, unless a replay sent
   * it (replayId), one held message sent back, which no longer waits in the hold.
   */
  private redriven(consumer: string, m: Message): void {
    const ledger = this.ledgers.get(consumer)!;
    if (!ledger.early.delete(m.id)) ledger.privatePath.set(m.id, m.publishTime.getTime());
    if (!m.attributes[REPLAY_ID_ATTRIBUTE]) ledger.hold.redriven(m.attributes['ce-id']);
  }

  /** What a purge took out of a hold (shared/operations/purge.ts announces it). */
  private holdExits(m: Message): void {
    let notice: Partial<HoldExitNotice> | null;
    try {
      notice = JSON.parse(m.data.toString('utf8')) as Partial<HoldExitNotice> | null;
    } catch {
      return; // not ours
    }
    // Anyone may publish there: what is not a notice is ignored, never thrown inside the tap's listener.
    if (typeof notice?.consumer !== 'string' || !Array.isArray(notice.messageIds)) return;
    this.ledgers.get(notice.consumer)?.hold.purged(notice.messageIds.filter((id): id is string => typeof id === 'string'));
  }

  /** Applies acks reported since the last read, then measures. */
  async read(): Promise<ConsumerHealth[]> {
    const now = Date.now();
    const instance = await this.instanceId();
    const restarted = instance !== undefined && this.instance !== undefined && instance !== this.instance;
    if (restarted) this.restarted();
    if (instance !== undefined) this.instance = instance;
    return Promise.all(
      Object.values(this.spec.consumers).map(async (c) => {
        const ledger = this.ledgers.get(c.name)!;
        // A source that is down (service not started yet) leaves the cursor where it was.
        const batch = await this.acks(c.name, ledger.cursor).catch(() => undefined);
        if (batch) ledger.cursor = batch.next;
        // After an emulator restart, the acks read so far are of the old instance's messages (their ids are handed out again).
        if (batch && !restarted) {
          if (batch.restarted) {
            // Leased by the dead process and not acked: back to the new one after the ack deadline.
            const presumeAt = now + (2 * c.ackDeadlineSeconds + 10) * 1000;
            for (const id of [...ledger.unacked.keys(), ...ledger.privatePath.keys()]) ledger.uncertain.set(id, presumeAt);
          }
          for (const id of batch.ids) if (!ledger.unacked.delete(id) && !ledger.privatePath.delete(id)) ledger.early.add(id);
          // Acks of messages the tap never shows (published before it existed) must not pile up.
          for (const id of ledger.early) {
            if (ledger.early.size <= MAX_EARLY_ACKS) break;
            ledger.early.delete(id);
          }
        }
        for (const [id, presumeAt] of ledger.uncertain) {
          if (!ledger.unacked.has(id) && !ledger.privatePath.has(id)) ledger.uncertain.delete(id);
          else if (now >= presumeAt) {
            ledger.unacked.delete(id);
            ledger.privatePath.delete(id);
            ledger.uncertain.delete(id);
          }
        }
        const oldestOf = (times: Map<string, number>) => {
          let oldest = Infinity;
          for (const t of times.values()) if (t < oldest) oldest = t;
          return times.size ? Math.max(0, (now - oldest) / 1000) : null;
        };
        return judge({
          consumer: c.name,
          topic: c.topic,
          backlog: ledger.unacked.size,
          oldestUnackedSeconds: oldestOf(ledger.unacked),
          deadLettered: ledger.hold.size,
          hold: ledger.hold.summary(triageSlaSeconds(c), now),
          topicRetentionSeconds: this.spec.topics[c.topic]?.retentionSeconds,
          privatePath: { backlog: ledger.privatePath.size, oldestUnackedSeconds: oldestOf(ledger.privatePath) },
          slo: { oldestUnackedSeconds: c.lagSlo.oldestUnackedSeconds, backlog: c.lagSlo.backlog },
          retentionSeconds: subscriptionRetentionSeconds(c),
          source: 'local',
        });
      }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.subscriptions.splice(0).map((s) => s.close()));
  }
}
