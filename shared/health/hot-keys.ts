/**
 * The hottest ordering keys of each topic, over a sliding window: a key's share of its topic's
 * events, its events per second, and its bytes per second against Pub/Sub's per-key limit ("1 MB/s
 * per ordering key" for ordered delivery, https://cloud.google.com/pubsub/quotas), so a hot
 * partition key shows before it saturates and its consumers fall behind on it alone.
 *
 * Counted by the dashboard (services/dashboard/handlers.ts) from the events it handles (one consumer per topic), keyed by the topic's
 * ordering key field from the spec: the same locally and in GCP (the emulator's push body has no
 * orderingKey, the data always has the field). A Cloud Run dashboard with several instances counts
 * what each instance handles: shares and the ranking hold (push spreads messages over instances),
 * rates are per instance.
 *
 * Memory stays bounded whatever the key cardinality: each slot of the window keeps at most
 * `capacity` counters (Misra-Gries: when full, every counter drops by one), so a key whose true
 * count exceeds 1/capacity of a slot's events is always kept, its count low by at most that much.
 */

/** Pub/Sub's throughput limit per ordering key, bytes per second. */
export const ORDERING_KEY_BYTES_PER_SECOND = 1_000_000;

export interface HotKey {
  key: string;
  events: number;
  /** Of the topic's events in the window, 0..1. */
  share: number;
  perSecond: number;
  bytesPerSecond: number;
  /** bytesPerSecond / ORDERING_KEY_BYTES_PER_SECOND. */
  ofKeyLimit: number;
}

export interface TopicHotKeys {
  topic: string;
  windowSeconds: number;
  /** Every event of the topic counted in the window. */
  events: number;
  keys: HotKey[];
}

export interface HotKeyOptions {
  /** Default 60 s. */
  windowMs?: number;
  /** Slots the window is cut into; the oldest drops as time moves. Default 6. */
  slots?: number;
  /** Counters per slot. Default 1000. */
  capacity?: number;
  now?: () => number;
}

interface Slot {
  start: number;
  events: number;
  counts: Map<string, { events: number; bytes: number }>;
}

export class HotKeyTracker {
  private readonly windowMs: number;
  private readonly slotMs: number;
  private readonly capacity: number;
  private readonly now: () => number;
  private readonly topics = new Map<string, Slot[]>();

  constructor(options: HotKeyOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.slotMs = this.windowMs / (options.slots ?? 6);
    this.capacity = options.capacity ?? 1000;
    this.now = options.now ?? Date.now;
  }

  record(topic: string, key: string, bytes: number): void {
    const slot = this.currentSlot(topic);
    slot.events++;
    const counter = slot.counts.get(key);
    if (counter) {
      counter.events++;
      counter.bytes += bytes;
      return;
    }
    if (slot.counts.size < this.capacity) return void slot.counts.set(key, { events: 1, bytes });
    // Full: this one and every counter drop by one (Misra-Gries); the emptied ones make room.
    for (const [k, c] of slot.counts) {
      const perEvent = c.bytes / c.events;
      c.events--;
      c.bytes -= perEvent;
      if (c.events <= 0) slot.counts.delete(k);
    }
  }

  /** The `n` hottest keys of each topic seen in the window, hottest first. */
  top(n = 5): TopicHotKeys[] {
    const now = this.now();
    const windowSeconds = this.windowMs / 1000;
    const out: TopicHotKeys[] = [];
    for (const [topic, slots] of this.topics) {
      const live = slots.filter((s) => s.start > now - this.windowMs);
      this.topics.set(topic, live);
      const events = live.reduce((sum, s) => sum + s.events, 0);
      const merged = new Map<string, { events: number; bytes: number }>();
      for (const slot of live)
        for (const [key, c] of slot.counts) {
          const m = merged.get(key) ?? { events: 0, bytes: 0 };
          m.events += c.events;
          m.bytes += c.bytes;
          merged.set(key, m);
        }
      const keys = [...merged]
        .sort((a, b) => b[1].events - a[1].events || a[0].localeCompare(b[0]))
        .slice(0, n)
        .map(([key, c]) => ({
          key,
          events: c.events,
          share: events ? c.events / events : 0,
          perSecond: c.events / windowSeconds,
          bytesPerSecond: c.bytes / windowSeconds,
          ofKeyLimit: c.bytes / windowSeconds / ORDERING_KEY_BYTES_PER_SECOND,
        }));
      out.push({ topic, windowSeconds, events, keys });
    }
    return out.sort((a, b) => a.topic.localeCompare(b.topic));
  }

  private currentSlot(topic: string): Slot {
    const start = Math.floor(this.now() / this.slotMs) * this.slotMs;
    let slots = this.topics.get(topic);
    if (!slots) this.topics.set(topic, (slots = []));
    let slot = slots[slots.length - 1];
    if (!slot || slot.start !== start) {
      slots.push((slot = { start, events: 0, counts: new Map() }));
      while (slots.length && slots[0].start <= start - this.windowMs) slots.shift();
    }
    return slot;
  }
}
