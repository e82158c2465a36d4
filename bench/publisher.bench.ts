/**
 * Publisher throughput: MeshPublisher (envelope + schema validation + ordering keys) against the raw
 * client publishing the same messages with the same batching, in the same run, on the emulator.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { emulatorPubSub, startPubsubEmulator } from '../shared/emulators';
import { applyLocal } from '../shared/local';
import { MeshPublisher } from '../shared/publisher';
import { toPubsubMessage } from '../shared/envelope';
import { loadSpec } from '../shared/spec';
import { median } from './median';
import type { BenchResult } from './types';

const MESSAGES = Number(process.env.BENCH_PUBLISH_MESSAGES ?? 10000);
/** Rounds of one raw and one MeshPublisher run each; the first WARM_UP_ROUNDS are not counted (JIT). */
const WARM_UP_ROUNDS = Number(process.env.BENCH_PUBLISH_WARM_UP_ROUNDS ?? 2);
const ROUNDS = WARM_UP_ROUNDS + Number(process.env.BENCH_PUBLISH_COUNTED_ROUNDS ?? 6); // each order (raw first, mesh first) equally often

const order = (i: number) => ({
  orderId: `o-${i % 200}`,
  customerId: `c-${i % 50}`,
  sequence: Math.floor(i / 200) + 1,
  amountCents: i,
  currency: 'USD',
  itemCount: 1,
  reason: '',
  carrier: '',
});

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export async function run(progress: (line: string) => void = () => undefined): Promise<BenchResult[]> {
  const spec = loadSpec();
  const emulator = await startPubsubEmulator();
  let pubsub: PubSub | undefined;
  try {
    const rounds: { raw: number; mesh: number }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // A fresh project per round, with no subscriptions on the topic: the emulator's push and
      // backlog work would otherwise grow from round to round and favour whoever runs first.
      pubsub = emulatorPubSub(emulator.hostPort, `bench-publisher-${round}`);
      await applyLocal({ pubsub, spec });
      const [subscriptions] = await pubsub.topic('orders').getSubscriptions();
      await Promise.all(subscriptions.map((s) => s.delete()));
      const publisher = new MeshPublisher({ pubsub, spec, source: '//bench' });
      // The raw baseline sends exactly what MeshPublisher would send, prepared outside the timing.
      const rawMessages = Array.from({ length: MESSAGES }, (_, i) => {
        const p = publisher.prepare('orders', 'order.created', order(i));
        return toPubsubMessage(p.event, p.orderingKey);
      });
      const rawTopic = pubsub.topic('orders', { messageOrdering: true, batching: { maxMessages: 100, maxBytes: 1024 * 1024, maxMilliseconds: 10 } });
      const runRaw = () => timeIt(() => Promise.all(rawMessages.map((m) => rawTopic.publishMessage(m))));
      const runMesh = () => timeIt(() => Promise.all(Array.from({ length: MESSAGES }, (_, i) => publisher.publish('orders', 'order.created', order(i)))));
      // The first publishes to a fresh topic are slow, in the emulator and in each client Topic
      // object (its per-key queues): one message per ordering key through each, outside the timing.
      await Promise.all(rawMessages.slice(0, 200).map((m) => rawTopic.publishMessage(m)));
      await Promise.all(Array.from({ length: 200 }, (_, i) => publisher.publish('orders', 'order.created', order(i))));
      // Alternate who goes first.
      // The run after another was slower whichever it was (the emulator still busy with the first):
      // alternate who goes first, and let the emulator settle in between.
      const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
      const pair = round % 2 ? { raw: await runRaw(), mesh: await settle().then(runMesh) } : { mesh: await runMesh(), raw: await settle().then(runRaw) };
      if (round > WARM_UP_ROUNDS) rounds.push(pair);
      await pubsub.close();
      pubsub = undefined;
      progress(
        `publisher round ${round}/${ROUNDS}${round <= WARM_UP_ROUNDS ? ' (warm-up)' : ''}: raw ${(MESSAGES / pair.raw).toFixed(0)} msg/s, mesh ${(MESSAGES / pair.mesh).toFixed(0)} msg/s, ratio ${(pair.raw / pair.mesh).toFixed(2)}`,
      );
    }
    // Each round is a pair measured under the same conditions; rounds differ by +-30 % on this
    // machine (both sides alike), so the ratio is the median of the per-round ratios.
    const ratio = median(rounds.map((r) => r.raw / r.mesh));
    const raw = median(rounds.map((r) => r.raw));
    const mesh = median(rounds.map((r) => r.mesh));
    return [
      {
        name: 'publish (MeshPublisher)',
        baseline: 'raw @google-cloud/pubsub publishMessage, same messages and batching',
        ratio,
        goal: 0.8,
        detail: `${MESSAGES} ordered messages over 200 keys, median of ${rounds.length} paired rounds after ${WARM_UP_ROUNDS} warm-up rounds (per-round ratios ${rounds.map((r) => (r.raw / r.mesh).toFixed(2)).join(', ')}): median mesh ${(MESSAGES / mesh).toFixed(0)} msg/s vs raw ${(MESSAGES / raw).toFixed(0)} msg/s`,
      },
    ];
  } finally {
    await pubsub?.close();
    await emulator.stop();
  }
}
