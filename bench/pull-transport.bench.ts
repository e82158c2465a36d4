/**
 * Pull transports on the Pub/Sub emulator: unary Pull for exactly the free slots (what pull
 * consumers use locally, shared/consumer/unary-pull.ts) against StreamingPull through the Node
 * client (what they use in GCP), both through PullConsumer draining the same backlog, alternating
 * after a warm-up pair:
 *  - ordered + exactly-once (the spec's processor-orders): 3000 events on 300 orders, 5 ms per event;
 *  - unordered (the spec's warehouse-analytics), a no-op handler: the emulator's cost per message.
 * No goal: it says what the local transport choice costs or gains, and where.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, PullConsumer, type PullTransport } from '../shared/consumer';
import { emulatorPubSub, startPubsubEmulator } from '../shared/emulators';
import { applyLocal } from '../shared/local';
import { MeshPublisher } from '../shared/publisher';
import { loadSpec } from '../shared/spec';
import { cpuSplitOf, describeCpu } from './cpu';
import { withOnlyConsumers } from './spec-cut';
import type { BenchResult } from './types';

const ORDERED_MESSAGES = Number(process.env.BENCH_PULL_ORDERED ?? 3000);
const UNORDERED_MESSAGES = Number(process.env.BENCH_PULL_UNORDERED ?? 4000);
const log = createLogger({ level: 'silent' });

interface Case {
  consumer: string;
  messages: number;
  publish: (publisher: MeshPublisher, i: number) => Promise<unknown>;
  handlerMs: number;
}

const CASES: Record<'ordered' | 'unordered', Case> = {
  ordered: {
    consumer: 'processor-orders',
    messages: ORDERED_MESSAGES,
    publish: (p, i) => p.publish('orders', 'order.created', { orderId: `o-${i % 300}`, customerId: 'c', sequence: Math.floor(i / 300) + 1 }),
    handlerMs: 5,
  },
  unordered: {
    consumer: 'warehouse-analytics',
    messages: UNORDERED_MESSAGES,
    publish: (p, i) => p.publish('analytics', 'click', { userId: `u-${i % 500}` }),
    handlerMs: 0,
  },
};

export async function run(progress: (line: string) => void = () => undefined): Promise<BenchResult[]> {
  const emulator = await startPubsubEmulator();
  const groups = { pubsub: emulator.process.pid };
  let round = 0;
  /** Publishes the case's backlog to a fresh project, then drains it with `transport`; msgs/s. */
  const measure = async (c: Case, transport: PullTransport) => {
    const spec = withOnlyConsumers(loadSpec(), [c.consumer]);
    const pubsub: PubSub = emulatorPubSub(emulator.hostPort, `bench-pull-${round++}`);
    try {
      await applyLocal({ pubsub, spec });
      const publisher = new MeshPublisher({ pubsub, spec, source: '//bench' });
      await Promise.all(Array.from({ length: c.messages }, (_, i) => c.publish(publisher, i)));
      let handled = 0;
      const pull = new PullConsumer({
        pubsub,
        consumer: spec.consumers[c.consumer],
        log,
        transport,
        pipeline: async () => {
          if (c.handlerMs) await sleep(c.handlerMs);
          handled++;
          return 'done';
        },
      });
      const { result: seconds, cpu } = await cpuSplitOf(groups, async () => {
        const start = process.hrtime.bigint();
        await pull.start();
        while (handled < c.messages) await sleep(20);
        return Number(process.hrtime.bigint() - start) / 1e9;
      });
      await pull.close();
      return { rate: c.messages / seconds, cpu: describeCpu(cpu, c.messages) };
    } finally {
      await pubsub.close();
    }
  };
  try {
    const results: BenchResult[] = [];
    for (const [name, c] of Object.entries(CASES)) {
      await measure(c, 'streaming'); // warm-up pair
      await measure(c, 'unary');
      const streaming = await measure(c, 'streaming');
      const unary = await measure(c, 'unary');
      progress(`${name}: unary ${unary.rate.toFixed(0)} msg/s (${unary.cpu}), streaming ${streaming.rate.toFixed(0)} msg/s (${streaming.cpu})`);
      results.push({
        name: `pull transport, ${name}`,
        baseline: 'StreamingPull through the Node client, same backlog and handler',
        ratio: unary.rate / streaming.rate,
        detail: `${c.messages} messages of ${c.consumer}${c.handlerMs ? `, ${c.handlerMs} ms per message` : ', no-op handler'}: unary Pull ${unary.rate.toFixed(0)} msg/s vs StreamingPull ${streaming.rate.toFixed(0)} msg/s on the emulator`,
      });
    }
    return results;
  } finally {
    await emulator.stop();
  }
}
