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
const ROUNDS = 3;

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
    let raw = Infinity;
    let mesh = Infinity;
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
      const runRaw = async () => (raw = Math.min(raw, await timeIt(() => Promise.all(rawMessages.map((m) => rawTopic.publishMessage(m)))))) ;
      const runMesh = async () => (mesh = Math.min(mesh, await timeIt(() => Promise.all(Array.from({ length: MESSAGES }, (_, i) => publisher.publish('orders', 'order.created', order(i)))))));
      // Alternate who goes first.
      if (round % 2) await runRaw().then(runMesh);
      else await runMesh().then(runRaw);
      await pubsub.close();
      pubsub = undefined;
      progress(`publisher round ${round}/${ROUNDS}: best so far raw ${(MESSAGES / raw).toFixed(0)} msg/s, mesh ${(MESSAGES / mesh).toFixed(0)} msg/s`);
    }
    return [
      {
        name: 'publish (MeshPublisher)',
        baseline: 'raw @google-cloud/pubsub publishMessage, same messages and batching',
        ratio: raw / mesh,
        goal: 0.8,
        detail: `${MESSAGES} ordered messages over 200 keys, best of ${ROUNDS}: mesh ${(MESSAGES / mesh).toFixed(0)} msg/s vs raw ${(MESSAGES / raw).toFixed(0)} msg/s`,
      },
    ];
  } finally {
    await pubsub?.close();
    await emulator.stop();
  }
}
