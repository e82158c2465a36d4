/**
 * The ceiling under the whole-mesh bench (issue 24): both emulators carrying the mesh's traffic with
 * the cheapest consumers there are, and no code of ours on the path but the sender. Same spec
 * (applied as `npm start` applies it: every consumer, the health taps), same sender and demo mix as
 * bench/mesh.bench.ts, same rising rates; but each subscription is drained by a bare loop of unary
 * Pull (up to PULL_SIZE) and one Acknowledge of everything pulled, spaced as the mesh's own puller
 * spaces its Pulls (MIN_PULL_INTERVAL_MS). The processor's two subscriptions also write one Firestore
 * document per message with create() before they ack: the least an exactly-once effect costs (the
 * processor itself dedupes and writes in one transaction). The dashboard's and the warehouse's
 * writes are left out, so the real mesh costs more than this, never less.
 *
 * Two lines: Pub/Sub alone (every subscription bare), then with the processor's Firestore floor. The
 * mesh sustains no more than the second: it is what the emulators and the sender reach on this
 * machine with nothing of ours in between. The detail gives each emulator's CPU per event.
 *
 *   BENCH_CEILING_RATES          rates to try, in order (default 250,500,750,1000,1500)
 *   BENCH_CEILING_STEP_SECONDS   each step's length (default 30)
 */
import type { PubSub } from '@google-cloud/pubsub';
import { setTimeout as sleep } from 'node:timers/promises';
import { SubscriberRpc, type ReceivedMessage } from '../shared/consumer/subscriber-rpc';
import { BACKLOG_PULL_SIZE, MIN_PULL_INTERVAL_MS } from '../shared/consumer/unary-pull';
import { emulatorFirestore, emulatorPubSub, startFirestoreEmulator, startPubsubEmulator } from '../shared/emulators';
import { applyLocal } from '../shared/local';
import { loadSpec } from '../shared/spec';
import { runLoad, type LoadRunReport } from '../tools/load/run';
import { DEFAULT_MIX } from '../tools/load/traffic';
import { groupCpuSeconds, ownCpuSeconds } from './cpu';
import { GROWTH_SECONDS, secondHalfGrowth } from './trend';
import type { BenchResult } from './types';

const RATES = (process.env.BENCH_CEILING_RATES ?? '250,500,750,1000,1500').split(',').map(Number);
const STEP_SECONDS = Number(process.env.BENCH_CEILING_STEP_SECONDS ?? 30);
const GOAL_RATE = 1000;
/** What one Pull asks for: more than the emulator returns per Pull (~100), so a backlog drains back to back. */
const PULL_SIZE = 1000;
/** After the sender stops, every subscription must be empty within this, or the step was not sustained. */
const SETTLE_MS = 10_000;
const DRAIN_TIMEOUT_MS = 120_000;
const SAMPLE_MS = 1000;

/** One subscription drained by Pull + Acknowledge, nothing else. */
class BareDrain {
  acked = 0;
  failures = 0;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    readonly subscription: string,
    readonly topic: string,
    private readonly rpc: SubscriberRpc,
    /** The sink's least write for what was pulled, before the ack. */
    private readonly write?: (messages: ReceivedMessage[]) => Promise<unknown>,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let pulled = 0;
      try {
        const messages = await this.rpc.pull(PULL_SIZE);
        pulled = messages.length;
        if (pulled && this.write) await this.write(messages);
        if (pulled) await this.rpc.acknowledge(messages.map((m) => m.ackId!));
        this.acked += pulled;
      } catch {
        this.failures++; // counted in the detail; the messages come back and are acked later
      }
      if (pulled < BACKLOG_PULL_SIZE) await sleep(MIN_PULL_INTERVAL_MS);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

interface Step {
  rate: number;
  load: LoadRunReport;
  behind: string[];
  /** % of one core over the step. */
  cpu: { pubsub: number; firestore: number; bench: number };
  /** Each emulator's CPU ms per event sent. */
  msPerEvent: { pubsub: number; firestore: number };
}

type Ladder = { steps: Step[]; subscriptions: number; failures: number };

export async function run(progress: (line: string) => void = () => undefined): Promise<BenchResult[]> {
  const firestoreEmulator = await startFirestoreEmulator();
  const spec = loadSpec();
  const firestore = emulatorFirestore(firestoreEmulator.hostPort, `bench-ceiling-${process.pid}`);
  try {
    progress('Pub/Sub alone: every subscription drained by bare Pull + Acknowledge');
    const alone = await ladder('alone', undefined);
    progress("with the processor's Firestore floor: one create() per message on its two subscriptions before the ack");
    const withFirestore = await ladder('firestore', (messages) =>
      Promise.all(messages.map((m) => firestore.collection('ceiling').doc(m.message!.messageId!).create({ at: Date.now() }))),
    );
    return [
      result("Pub/Sub emulator alone, the mesh's subscriptions, sustained events/s", 'no Firestore', alone),
      result(
        "both emulators, bare consumers (the mesh's ceiling), sustained events/s",
        "the processor's two subscriptions create() one Firestore document per message before the ack",
        withFirestore,
      ),
    ];
  } finally {
    await firestore.terminate();
    await firestoreEmulator.stop();
  }

  /**
   * The rising rates, up to the first not sustained, on a Pub/Sub emulator of its own: one that was
   * overloaded stays slow after its backlog is gone, even with its subscriptions deleted (measured:
   * 250/s then cost it 7.3 ms of CPU per event instead of 1.2).
   */
  async function ladder(name: string, processorWrite: ((messages: ReceivedMessage[]) => Promise<unknown>) | undefined): Promise<Ladder> {
    const pubsubEmulator = await startPubsubEmulator();
    const groups = { pubsub: pubsubEmulator.process.pid, firestore: firestoreEmulator.process.pid };
    const pubsub: PubSub = emulatorPubSub(pubsubEmulator.hostPort, `bench-ceiling-${name}-${process.pid}`);
    const drains: BareDrain[] = [];
    const published: Record<string, number> = Object.fromEntries(Object.keys(spec.topics).map((t) => [t, 0]));
    const backlogOf = (d: BareDrain) => published[d.topic] - d.acked;
    try {
      await applyLocal({ pubsub, spec, push: 'relay' });
      for (const topic of Object.keys(spec.topics)) {
        const [subscriptions] = await pubsub.topic(topic).getSubscriptions();
        for (const s of subscriptions) {
          const id = s.name.split('/').pop()!;
          const service = spec.consumers[id]?.service;
          drains.push(new BareDrain(id, topic, await SubscriberRpc.open(pubsub, id), service === 'processor' ? processorWrite : undefined));
        }
      }
      const steps: Step[] = [];
      for (const rate of RATES) {
        const step = await runStep(rate);
        steps.push(step);
        progress(
          `  ${rate}/s for ${STEP_SECONDS} s: sent ${Math.round(step.load.sentPerSecond)}/s; ${step.behind.length ? `NOT sustained: ${step.behind.join('; ')}` : 'every subscription kept up'}; ${describeStepCpu(step)}`,
        );
        if (step.behind.length) break;
        const deadline = Date.now() + DRAIN_TIMEOUT_MS;
        while (Date.now() < deadline && drains.some((d) => backlogOf(d) > 0)) await sleep(500);
      }
      return { steps, subscriptions: drains.length, failures: drains.reduce((a, d) => a + d.failures, 0) };
    } finally {
      await Promise.all(drains.map((d) => d.stop()));
      await pubsub.close();
      await pubsubEmulator.stop();
    }

    async function runStep(rate: number): Promise<Step> {
      const samples: { at: number; backlog: number[] }[] = [];
      const base = { ...published };
      let ackedByTopic: Readonly<Record<string, number>> = {};
      const before = { pubsub: groupCpuSeconds(groups.pubsub), firestore: groupCpuSeconds(groups.firestore), bench: ownCpuSeconds(), at: Date.now() };
      const sampler = setInterval(() => {
        samples.push({ at: Date.now() - before.at, backlog: drains.map((d) => base[d.topic] + (ackedByTopic[d.topic] ?? 0) - d.acked) });
      }, SAMPLE_MS);
      const mix = { ...DEFAULT_MIX, raw: 1 };
      const load = await runLoad({ spec, pubsub, rate, seconds: STEP_SECONDS, mix, seed: rate, onProgress: (p) => (ackedByTopic = p.ackedByTopic) });
      clearInterval(sampler);
      const wall = (Date.now() - before.at) / 1000;
      const spent = {
        pubsub: groupCpuSeconds(groups.pubsub) - before.pubsub,
        firestore: groupCpuSeconds(groups.firestore) - before.firestore,
        bench: ownCpuSeconds() - before.bench,
      };
      for (const [topic, n] of Object.entries(load.ackedByTopic)) published[topic] += n;
      // Every subscription empty within SETTLE_MS of the last send, or the step was not sustained.
      const deadline = Date.now() + SETTLE_MS;
      while (Date.now() < deadline && drains.some((d) => backlogOf(d) > 0)) await sleep(200);
      const unsettled = drains.filter((d) => backlogOf(d) > 0).map((d) => `${d.subscription} held ${backlogOf(d)} ${SETTLE_MS / 1000} s after the last send`);
      const events = Math.max(1, load.acked);
      return {
        rate,
        load,
        behind: [...judge(load, samples), ...unsettled],
        cpu: { pubsub: (spent.pubsub / wall) * 100, firestore: (spent.firestore / wall) * 100, bench: (spent.bench / wall) * 100 },
        msPerEvent: { pubsub: (spent.pubsub * 1000) / events, firestore: (spent.firestore * 1000) / events },
      };
    }

    /** The sender fell short, or a backlog grew over the step's second half (its trend). */
    function judge(load: LoadRunReport, samples: { at: number; backlog: number[] }[]): string[] {
      const behind: string[] = [];
      if (!load.reached) behind.push(`the sender: ${load.shortfall}`);
      drains.forEach((d, i) => {
        const topicRate = Math.max(1, (load.ackedByTopic[d.topic] ?? 0) / STEP_SECONDS);
        const growth = secondHalfGrowth(samples, STEP_SECONDS, (s) => s.backlog[i]);
        if (growth !== undefined && growth > topicRate * GROWTH_SECONDS) behind.push(`${d.subscription}'s backlog grew by ${growth} over the second half`);
      });
      return behind;
    }
  }
}

const describeStepCpu = (s: Step) =>
  `CPU, % of one core: Pub/Sub emulator ${s.cpu.pubsub.toFixed(0)} (${s.msPerEvent.pubsub.toFixed(2)} ms per event), Firestore emulator ${s.cpu.firestore.toFixed(0)} (${s.msPerEvent.firestore.toFixed(2)} ms per event), bench process ${s.cpu.bench.toFixed(0)}`;

function result(name: string, what: string, { steps, subscriptions, failures }: Ladder): BenchResult {
  const sustained = Math.max(0, ...steps.filter((s) => !s.behind.length).map((s) => s.rate));
  const ladder = steps
    .map(
      (s) =>
        `${s.rate}/s (sent ${Math.round(s.load.sentPerSecond)}/s) ${s.behind.length ? `not sustained: ${s.behind.join('; ')}` : 'sustained'}; ${describeStepCpu(s)}`,
    )
    .join(' | ');
  return {
    name,
    baseline: `${GOAL_RATE} events/s (issue 24's goal); the whole mesh cannot go faster than its ceiling`,
    ratio: sustained / GOAL_RATE,
    detail: `${subscriptions} subscriptions, each drained by bare Pull + Acknowledge (${failures} failed calls), ${what}; highest rate sustained for ${STEP_SECONDS} s: ${sustained}/s. Steps: ${ladder}`,
  };
}
