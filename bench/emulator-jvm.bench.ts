/**
 * The emulators' JVM options (shared/emulators/jvm.ts): C1 only, the default for everything here,
 * against the JVM's own defaults (tiered up to C2). Each setting gets fresh emulators, then the same
 * work in rounds, so the first round shows a cold emulator (what a test run or `npm start` meets)
 * and the last a warm one:
 *  - Pub/Sub: publish a backlog, drain it with the raw client acking at once;
 *  - Firestore: commits of 200 create()s (the shape of the services' dedup records), 4 at a time.
 * No goal: it says why the default is what it is.
 */
import { randomUUID } from 'node:crypto';
import { Timestamp } from '@google-cloud/firestore';
import { emulatorFirestore, emulatorPubSub, startFirestoreEmulator, startPubsubEmulator, DEFAULT_EMULATOR_JVM_OPTIONS } from '../shared/emulators';
import { groupCpuSeconds } from './cpu';
import type { BenchResult } from './types';

const MESSAGES = Number(process.env.BENCH_JVM_MESSAGES ?? 4000);
const DOCUMENTS = Number(process.env.BENCH_JVM_DOCUMENTS ?? 10000);
const ROUNDS = Number(process.env.BENCH_JVM_ROUNDS ?? 3);
const PER_COMMIT = 200;

interface Round {
  rate: number;
  /** Emulator CPU ms per message or document. */
  cpuMs: number;
}

/** Runs `work` ROUNDS times; each round's units/s and the emulator's CPU ms per unit. */
async function inRounds(emulatorPid: number, units: number, work: () => Promise<void>): Promise<Round[]> {
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const cpu0 = groupCpuSeconds(emulatorPid);
    const start = process.hrtime.bigint();
    await work();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    rounds.push({ rate: units / seconds, cpuMs: ((groupCpuSeconds(emulatorPid) - cpu0) * 1000) / units });
  }
  return rounds;
}

async function pubsubRounds(jvmOptions: string): Promise<Round[]> {
  const emulator = await startPubsubEmulator({ jvmOptions });
  const pubsub = emulatorPubSub(emulator.hostPort, 'bench-jvm');
  try {
    const [topic] = await pubsub.createTopic('jvm-topic');
    await topic.createSubscription('jvm-sub');
    return await inRounds(emulator.process.pid, MESSAGES, async () => {
      await Promise.all(Array.from({ length: MESSAGES }, (_, i) => topic.publishMessage({ data: Buffer.from(`{"i":${i}}`) })));
      let acked = 0;
      const sub = pubsub.subscription('jvm-sub', { flowControl: { maxMessages: 1000, allowExcessMessages: false } });
      await new Promise<void>((resolve) => {
        sub.on('message', (m) => {
          m.ack();
          if (++acked === MESSAGES) resolve();
        });
      });
      await sub.close();
    });
  } finally {
    await pubsub.close();
    await emulator.stop();
  }
}

async function firestoreRounds(jvmOptions: string): Promise<Round[]> {
  const emulator = await startFirestoreEmulator({ jvmOptions });
  const db = emulatorFirestore(emulator.hostPort, 'bench-jvm');
  try {
    return await inRounds(emulator.process.pid, DOCUMENTS, async () => {
      let commits = Math.ceil(DOCUMENTS / PER_COMMIT);
      const worker = async () => {
        while (commits-- > 0) {
          const batch = db.batch();
          const expiresAt = Timestamp.fromMillis(Date.now() + 86400_000);
          for (let i = 0; i < PER_COMMIT; i++) batch.create(db.doc(`consumers/bench/dedup/${randomUUID()}`), { expiresAt });
          await batch.commit();
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
    });
  } finally {
    await db.terminate();
    await emulator.stop();
  }
}

const show = (rounds: Round[], unit: string) => rounds.map((r) => `${r.rate.toFixed(0)} ${unit}/s (${r.cpuMs.toFixed(3)} ms CPU)`).join(' -> ');

export async function run(progress: (line: string) => void = () => undefined): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const cases = [
    { name: 'Pub/Sub emulator', unit: 'msg', what: `${MESSAGES} messages published and drained by the raw client`, rounds: pubsubRounds },
    { name: 'Firestore emulator', unit: 'doc', what: `${DOCUMENTS} create()s in commits of ${PER_COMMIT}, 4 in flight`, rounds: firestoreRounds },
  ];
  for (const c of cases) {
    const jvmDefault = await c.rounds('');
    const c1 = await c.rounds(DEFAULT_EMULATOR_JVM_OPTIONS);
    progress(`${c.name}: JVM defaults ${show(jvmDefault, c.unit)}`);
    progress(`${c.name}: ${DEFAULT_EMULATOR_JVM_OPTIONS} ${show(c1, c.unit)}`);
    const last = ROUNDS - 1;
    for (const [label, i] of [
      ['cold', 0],
      ['warm', last],
    ] as const) {
      results.push({
        name: `${c.name}, C1 only, ${label}`,
        baseline: 'the same emulator with the JVM defaults (C2), same work',
        ratio: c1[i].rate / jvmDefault[i].rate,
        detail: `round ${i + 1} of ${ROUNDS} of ${c.what} on a fresh emulator: ${c1[i].rate.toFixed(0)} vs ${jvmDefault[i].rate.toFixed(0)} ${c.unit}/s; emulator CPU ${c1[i].cpuMs.toFixed(3)} vs ${jvmDefault[i].cpuMs.toFixed(3)} ms per ${c.unit}`,
      });
    }
  }
  return results;
}
