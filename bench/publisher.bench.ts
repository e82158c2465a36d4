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
import type { BenchResult } from './types';

const MESSAGES = Number(process.env.BENCH_PUBLISH_MESSAGES ?? 10000);
/** Rounds of one raw and one MeshPublisher run each; the first WARM_UP_ROUNDS are not counted (JIT). */
const ROUNDS = 7;
const WARM_UP_ROUNDS = 2;

const order = (i: number) => ({ orderId: `o-${i % 200}`, customerId: `c-${i % 50}`, sequence: Math.floor(i / 200) + 1, amountCents: i, currency: 'USD', itemCount: 1, reason: '', carrier: '' });

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
      // The emulator's first publishes to a fresh topic are slow (whoever went first lost ~30 %):
      // one message per ordering key first, outside the timing.
      await Promise.all(rawMessages.slice(0, 200).map((m) => rawTopic.publishMessage(m)));
      // Alternate who goes first.
      const pair = round % 2 ? { raw: await runRaw(), mesh: await runMesh() } : { mesh: await runMesh(), raw: await runRaw() };
      if (round > WARM_UP_ROUNDS) rounds.push(pair);
      await pubsub.close();
      pubsub = undefined;
      progress(`publisher round ${round}/${ROUNDS}${round <= WARM_UP_ROUNDS ? ' (warm-up)' : ''}: raw ${(MESSAGES / pair.raw).toFixed(0)} msg/s, mesh ${(MESSAGES / pair.mesh).toFixed(0)} msg/s, ratio ${(pair.raw / pair.mesh).toFixed(2)}`);
    }
    // Steady state: each side's fastest counted run (the rounds still differ by +-30 % on this
    // machine, both sides alike); the median of the per-round ratios is shown beside it.
    const raw = Math.min(...rounds.map((r) => r.raw));
    const mesh = Math.min(...rounds.map((r) => r.mesh));
    const ratios = rounds.map((r) => r.raw / r.mesh).sort((a, b) => a - b);
    const medianRatio = ratios[Math.floor(ratios.length / 2)];
    return [
      {
        name: 'publish (MeshPublisher)',
        baseline: 'raw @google-cloud/pubsub publishMessage, same messages and batching',
        ratio: raw / mesh,
        goal: 0.8,
        detail: `${MESSAGES} ordered messages over 200 keys, best of ${rounds.length} rounds after ${WARM_UP_ROUNDS} warm-up rounds (median per-round ratio ${medianRatio.toFixed(2)}): mesh ${(MESSAGES / mesh).toFixed(0)} msg/s vs raw ${(MESSAGES / raw).toFixed(0)} msg/s`,
      },
    ];
  } finally {
    await pubsub?.close();
    await emulator.stop();
  }
}
