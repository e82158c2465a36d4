/**
 * Realistic demo traffic for both topics, as a deterministic stream of "sends" (seeded PRNG):
 * users viewing, clicking and liking posts; orders going created -> paid -> shipped (or cancelled),
 * each order's events with its id as ordering key and a per-order sequence. On top, a configurable
 * share of duplicates (same event id again), out-of-order attempts (an order's next two steps
 * swapped), poison (valid data, broken envelope) and raw-client sends.
 */
import { newEventId } from '../../shared/envelope';

export interface TrafficMix {
  /** Share of sends that repeat an earlier event with the same id. Default 0.05. */
  duplicates: number;
  /** Share of order steps published with the following step first. Default 0.02. */
  outOfOrder: number;
  /** Share of sends that are poison (valid data, broken envelope). Default 0.005. */
  poison: number;
  /** Share of valid events sent with the plain @google-cloud/pubsub client. Default 0.2. */
  raw: number;
  /** Share of events on the orders topic. Default 0.25. */
  orders: number;
}

export const DEFAULT_MIX: TrafficMix = { duplicates: 0.05, outOfOrder: 0.02, poison: 0.005, raw: 0.2, orders: 0.25 };

export type SendKind = 'event' | 'duplicate' | 'poison';

export interface Send {
  kind: SendKind;
  topic: 'analytics' | 'orders';
  type: string;
  /** Event id: reused by duplicates. */
  id: string;
  data: Record<string, unknown>;
  /** Send with the raw client instead of MeshPublisher. */
  raw: boolean;
  /** Poison only: how the envelope is broken. */
  poison?: 'missing-id' | 'unknown-type' | 'bad-time';
  /** Part of a swapped pair of order steps. */
  outOfOrder?: boolean;
}

interface OpenOrder {
  orderId: string;
  customerId: string;
  amountCents: number;
  itemCount: number;
  sequence: number;
  state: 'created' | 'paid';
  /**
   * Whether this order's events go through the plain client: one client per order, as one producer
   * owns an order. (The Pub/Sub emulator may deliver an ordering key out of its publish-time order
   * when two publisher clients publish it at once; GCP orders a key by receipt, whoever published.)
   */
  raw?: boolean;
}

/** mulberry32: small, fast, seedable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class TrafficGenerator {
  private readonly random: () => number;
  private readonly recent: Send[] = [];
  private readonly open: OpenOrder[] = [];
  private readonly liked = new Set<string>();
  private readonly pending: Send[] = [];
  private orderCounter = 0;

  constructor(
    private readonly mix: TrafficMix = DEFAULT_MIX,
    seed = Date.now(),
    private readonly users = 500,
    private readonly posts = 100,
  ) {
    this.random = prng(seed);
  }

  next(): Send {
    const queued = this.pending.shift();
    if (queued) return this.remember(queued);
    const r = this.random();
    if (r < this.mix.poison) return this.poison();
    if (r < this.mix.poison + this.mix.duplicates && this.recent.length) {
      const original = this.recent[Math.floor(this.random() * this.recent.length)];
      return { ...original, kind: 'duplicate', outOfOrder: false };
    }
    const send = this.random() < this.mix.orders ? this.orderStep() : this.interaction();
    return this.remember(send);
  }

  private remember(send: Send): Send {
    if (send.kind === 'event') {
      this.recent.push(send);
      if (this.recent.length > 1000) this.recent.shift();
    }
    return send;
  }

  private pick(prefix: string, n: number): string {
    return `${prefix}-${Math.floor(this.random() * n) + 1}`;
  }

  private event(topic: Send['topic'], type: string, data: Record<string, unknown>): Send {
    return { kind: 'event', topic, type, id: newEventId(), data, raw: this.random() < this.mix.raw };
  }

  private interaction(): Send {
    const userId = this.pick('u', this.users);
    const postId = this.pick('p', this.posts);
    const base = {
      userId,
      sessionId: `s-${userId}`,
      page: `/posts/${postId}`,
      element: '',
      postId,
      country: ['DE', 'US', 'FR', 'BR', 'JP'][Math.floor(this.random() * 5)],
      durationMs: 0,
    };
    const r = this.random();
    const key = `${userId}/${postId}`;
    if (r < 0.55) return this.event('analytics', 'view', { ...base, durationMs: Math.floor(this.random() * 30000) });
    if (r < 0.85) return this.event('analytics', 'click', { ...base, element: ['like-button', 'share', 'comments', 'author'][Math.floor(this.random() * 4)] });
    if (this.liked.has(key) && r < 0.93) {
      this.liked.delete(key);
      return this.event('analytics', 'like.removed', base);
    }
    this.liked.add(key);
    return this.event('analytics', 'like.created', base);
  }

  private orderStep(): Send {
    if (this.open.length < 5 || this.random() < 0.3) {
      const order: OpenOrder = {
        orderId: `o-${Date.now().toString(36)}-${++this.orderCounter}`,
        customerId: this.pick('c', this.users),
        amountCents: 500 + Math.floor(this.random() * 20000),
        itemCount: 1 + Math.floor(this.random() * 5),
        sequence: 1,
        state: 'created',
      };
      this.open.push(order);
      const created = this.orderEvent(order, 'order.created');
      order.raw = created.raw;
      return created;
    }
    const index = Math.floor(this.random() * this.open.length);
    const order = this.open[index];
    if (order.state === 'created') {
      if (this.random() < 0.1) {
        this.open.splice(index, 1);
        return this.orderEvent(order, 'order.cancelled', { reason: 'customer request' });
      }
      if (this.random() < this.mix.outOfOrder / Math.max(this.mix.orders, 0.01)) {
        // Shipped goes out before paid: consumers must notice, not corrupt the projection.
        this.open.splice(index, 1);
        const paid = this.orderEvent(order, 'order.paid');
        const shipped = this.orderEvent(order, 'order.shipped', { carrier: 'ups' });
        this.pending.push({ ...paid, outOfOrder: true });
        return { ...shipped, outOfOrder: true };
      }
      order.state = 'paid';
      return this.orderEvent(order, 'order.paid');
    }
    this.open.splice(index, 1);
    return this.orderEvent(order, 'order.shipped', { carrier: ['ups', 'dhl', 'fedex'][Math.floor(this.random() * 3)] });
  }

  private orderEvent(order: OpenOrder, type: string, extra: Record<string, unknown> = {}): Send {
    const data = {
      orderId: order.orderId,
      customerId: order.customerId,
      sequence: order.sequence++,
      amountCents: order.amountCents,
      currency: 'USD',
      itemCount: order.itemCount,
      reason: '',
      carrier: '',
      ...extra,
    };
    const send = this.event('orders', type, data);
    if (order.raw !== undefined) send.raw = order.raw;
    return send;
  }

  private poison(): Send {
    const kinds: NonNullable<Send['poison']>[] = ['missing-id', 'unknown-type', 'bad-time'];
    const send = this.interaction();
    return { ...send, kind: 'poison', raw: true, poison: kinds[Math.floor(this.random() * kinds.length)] };
  }
}
