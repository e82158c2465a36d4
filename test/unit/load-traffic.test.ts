import { topicSchemas } from '../../shared/schemas';
import { TrafficGenerator } from '../../tools/load/traffic';
import type { PubSub } from '@google-cloud/pubsub';
import { TrafficSender } from '../../tools/load/sender';
import { defaultSpec } from '../support/specs';

const spec = defaultSpec();

describe('demo traffic generator', () => {
  const mix = { duplicates: 0.1, outOfOrder: 0.05, poison: 0.02, raw: 0.3, orders: 0.3 };
  const sends = (() => {
    const g = new TrafficGenerator(mix, 42);
    return Array.from({ length: 5000 }, () => g.next());
  })();

  it('produces the configured mix', () => {
    const share = (pred: (s: (typeof sends)[number]) => boolean) => sends.filter(pred).length / sends.length;
    expect(share((s) => s.kind === 'duplicate')).toBeCloseTo(0.1, 1);
    expect(share((s) => s.kind === 'poison')).toBeCloseTo(0.02, 1);
    expect(share((s) => s.kind === 'event' && s.raw) / share((s) => s.kind === 'event')).toBeCloseTo(0.3, 1);
    expect(share((s) => s.topic === 'orders')).toBeGreaterThan(0.2);
    expect(sends.some((s) => s.outOfOrder)).toBe(true);
  });

  it('sends only data that passes the topic schema, with every field present (raw producers send it as is)', () => {
    for (const s of sends) {
      const schemas = topicSchemas(spec, s.topic);
      expect(schemas.normalize(s.data)).toEqual(s.data);
      expect(Object.keys(s.data).sort()).toEqual([...schemas.current.fieldNames].sort());
      expect(spec.topics[s.topic].eventTypes).toContain(s.type);
    }
  });

  it('repeats earlier event ids for duplicates, and never reuses an id otherwise', () => {
    const events = sends.filter((s) => s.kind === 'event');
    expect(new Set(events.map((s) => s.id)).size).toBe(events.length);
    const ids = new Set(events.map((s) => s.id));
    for (const d of sends.filter((s) => s.kind === 'duplicate')) expect(ids.has(d.id)).toBe(true);
  });

  it('walks each order through its lifecycle with sequences 1, 2, 3, swapping only the out-of-order pairs', () => {
    const byOrder = new Map<string, { type: string; sequence: number; outOfOrder?: boolean }[]>();
    for (const s of sends.filter((x) => x.topic === 'orders' && x.kind === 'event')) {
      const list = byOrder.get(s.data.orderId as string) ?? [];
      list.push({ type: s.type, sequence: s.data.sequence as number, outOfOrder: s.outOfOrder });
      byOrder.set(s.data.orderId as string, list);
    }
    for (const steps of byOrder.values()) {
      expect(steps[0]).toMatchObject({ type: 'order.created', sequence: 1 });
      const sorted = [...steps].sort((a, b) => a.sequence - b.sequence).map((s) => s.sequence);
      expect(sorted).toEqual(sorted.map((_, i) => i + 1));
      if (!steps.some((s) => s.outOfOrder)) expect(steps.map((s) => s.sequence)).toEqual(sorted);
      else expect(steps.map((s) => s.type)).toEqual(['order.created', 'order.shipped', 'order.paid']);
    }
  });

  it("sends each order's events, duplicates included, through one client (raw or MeshPublisher), both clients in use", () => {
    const generator = new TrafficGenerator({ ...mix, raw: 0.5 }, 3);
    const clients = new Map<string, Set<boolean>>();
    for (let i = 0; i < 5000; i++) {
      const send = generator.next();
      if (send.topic !== 'orders' || send.kind === 'poison') continue;
      const orderId = String(send.data.orderId);
      clients.set(orderId, (clients.get(orderId) ?? new Set()).add(send.raw));
    }
    expect([...clients.values()].every((c) => c.size === 1)).toBe(true);
    const raw = [...clients.values()].filter((c) => c.has(true)).length;
    expect(raw).toBeGreaterThan(clients.size * 0.3);
    expect(raw).toBeLessThan(clients.size * 0.7);
  });
});

describe('demo traffic sender', () => {
  it("keeps a duplicate's first ce-time, whichever client sends it (a retry, not a second event in another window)", async () => {
    // The Pub/Sub client is the one stand-in: only what each send hands it is looked at.
    const published: { attributes?: Record<string, string> }[] = [];
    const topic = {
      publishMessage: async (m: { attributes?: Record<string, string> }) => String(published.push(m)),
      flush: async () => undefined,
      resumePublishing: () => undefined,
    };
    const pubsub = { topic: () => topic } as unknown as PubSub;
    const sender = new TrafficSender(pubsub, spec);
    const generator = new TrafficGenerator({ duplicates: 0.3, outOfOrder: 0, poison: 0, raw: 0.5, orders: 0.3 }, 11);
    const first = new Map<string, string>();
    let duplicates = 0;
    for (let i = 0; i < 400; i++) {
      const send = generator.next();
      await sender.send(send, new Date(Date.UTC(2026, 0, 1, 0, i)));
      const time = published.at(-1)!.attributes!['ce-time'];
      if (send.kind === 'duplicate') {
        duplicates++;
        expect(time).toBe(first.get(send.id));
      } else first.set(send.id, time);
    }
    expect(duplicates).toBeGreaterThan(50);
  });
});
