/**
 * `mesh faults`, the part that does not print: the local mesh under crashes and bad input, then the
 * accounts. One run:
 *
 *   1. starts its own mesh (npm start's code, its own ports and data folder, services supervised);
 *   2. at once: valid traffic (duplicates, poison, swapped order steps) dated in minutes that have
 *      already closed; `kill -9` of each consumer service, again and again; fuzzed push bodies and
 *      pull messages (fuzz.ts); forged push tokens (tokens.ts);
 *   3. waits until `mesh parity` finds every window agreeing; redrives, audited, the valid events
 *      Pub/Sub dead-lettered because their service was killed under every delivery (after-kills.ts)
 *      and waits again; then counts: valid events missing from a consumer's sink (lost), sinks above
 *      the warehouse (applied twice), poison held once with a reason, restarts nobody caused (crashes);
 *   4. kills the Firestore emulator (the mesh brings it back from its export): parity must still hold;
 *      kills the Pub/Sub emulator (back empty, the spec applied again): `mesh smoke` must pass.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listHeld, type HeldMessage } from '../../shared/consumer/dead-letter-hold';
import { auditedRedrive, OperationsAudit } from '../../shared/operations';
import { startLocalMesh, type LocalMesh } from '../../shared/local';
import type { MeshSpec } from '../../shared/spec';
import { windowStart } from '../../services/dashboard/windows';
import { TrafficGenerator } from '../load/traffic';
import { TrafficSender } from '../load/sender';
import { readLag } from '../parity/lag';
import { runParity } from '../parity/run';
import { FirestoreSinks } from '../parity/sinks';
import type { ParityReport } from '../parity/types';
import { WarehouseReference } from '../parity/warehouse';
import { runSmoke } from '../smoke/run';
import { localTarget, type SmokeTarget } from '../smoke/target';
import { validHeldAfterKills } from './after-kills';
import { crashesOf, killEmulator, killLoop, type KillRecord } from './chaos';
import { Fuzzer, FUZZ_PUSH_SUBSCRIPTION } from './fuzz';
import { decodingConsumers, FaultInputs } from './inputs';
import { gigabytes, sampleEmulatorMemory } from './memory';
import { judgeFaults, type FaultReport, type FaultSizes } from './report';
import { runTokenPhase, type TokenPhaseResult } from './tokens';

export interface FaultRunOptions extends FaultSizes {
  /** A spec whose ports and data folder nothing else uses (the run starts from empty data). */
  spec: MeshSpec;
  seed: number;
  /** How long the mesh may take to agree after the faults stop. Default 10 min. */
  settleTimeoutMs?: number;
  onProgress?: (line: string) => void;
  /** The mesh's own progress lines (restarts ...). */
  onMeshProgress?: (line: string) => void;
}

/** Event times fall in these many closed minutes before the run, so parity judges them at once. */
const MINUTES = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runFaults(options: FaultRunOptions): Promise<FaultReport> {
  const { spec, seed } = options;
  const progress = options.onProgress ?? (() => undefined);
  const started = Date.now();
  const runId = randomBytes(3).toString('hex');
  const firstWindow = windowStart('minute', started) - MINUTES * 60_000;

  progress(`starting a mesh of its own (data in ${spec.local.dataDir})`);
  // Restarts come quickly (npm start doubles its wait up to 30 s): the run kills far more often than a crash would happen.
  const mesh = await startLocalMesh(spec, { fresh: true, supervisor: { initialBackoffMs: 250, maxBackoffMs: 2000 }, onProgress: options.onMeshProgress });
  const target = await localTarget(spec, { pubsubHost: mesh.pubsubHost, firestoreHost: mesh.firestoreHost, bigqueryUrl: mesh.bigqueryUrl });
  // Every hold listing's figures: a listing that ended with part of a hold unread shows there.
  const holdLog = fs.createWriteStream(path.join(spec.local.dataDir, 'logs', 'hold-listings.log'), { flags: 'a' });
  const memory = sampleEmulatorMemory(mesh.emulators);
  const memoryLines = setInterval(() => progress(`emulators' memory: ${memory.line()}`), 60_000);
  memoryLines.unref();
  try {
    const fuzzer = new Fuzzer(seed, runId);
    const inputs = new FaultInputs(spec, fuzzer, seed);
    const kills: KillRecord[] = [];
    const killed = (k: KillRecord) => {
      kills.push(k);
      progress(`kill -9 ${k.target} (pid ${k.pid}): running again after ${k.backAfterSeconds} s`);
    };

    // 2. Everything at once.
    let killing = true;
    const killers = Promise.all(
      [...new Set(decodingConsumers(spec).map((c) => c.service!))].map((name, i) =>
        killLoop(mesh, name, { count: options.killsPerService, maxUpMs: options.maxUpMs, seed: seed + i, onKill: killed }),
      ),
    ).finally(() => (killing = false));
    const traffic = sendTraffic(spec, target, inputs, { seed, firstWindow, minSends: options.sends, rate: options.rate, busy: () => killing, progress });
    const fuzz = sendFuzz(spec, target, mesh, inputs, options, progress);
    let tokens: TokenPhaseResult | undefined;
    const tokenConsumer = decodingConsumers(spec).find((c) => c.service === 'processor' && c.delivery === 'push');
    const forging = tokenConsumer
      ? runTokenPhase({
          spec,
          pubsub: target.pubsub,
          firestore: target.firestore,
          consumer: tokenConsumer,
          payload: () => inputs.payload(tokenConsumer.topic),
          newId: () => fuzzer.nextId(),
        }).then((t) => void (tokens = t))
      : Promise.resolve();
    await Promise.all([killers, traffic, fuzz, forging]);
    await inputs.close();
    progress(
      `faults done: ${inputs.counts.sends} sends, ${kills.length} kills, ${inputs.counts.pushFuzz} push bodies, ${inputs.counts.pullFuzz} fuzzed messages; waiting for every sink to agree`,
    );

    // 3. Drained and agreeing, then the accounts.
    const parityOf = async () => {
      const { lag, unknownBecause } = await readLag(spec, target, mesh.serviceUrls.dashboard);
      return runParity({
        spec,
        target,
        granularity: 'minute',
        sinceMs: firstWindow,
        lag,
        lagUnknownBecause: unknownBecause,
        settleMs: 0,
        maxHeld: 100_000,
        ignoreHeld: (m) => m.attributes.sourceSubscription === FUZZ_PUSH_SUBSCRIPTION,
        onHoldListed: (stats) => holdLog.write(`${new Date().toISOString()} ${JSON.stringify(stats)}\n`),
      });
    };
    const settleTimeoutMs = options.settleTimeoutMs ?? 600_000;
    const answeredFailures = (consumer: string, messageId: string) => {
      const counts = mesh.relays.filter((r) => r.consumer.name === consumer).map((r) => r.answeredFailures(messageId));
      return counts.some((n) => n !== undefined) ? counts.reduce<number>((sum, n) => sum + (n ?? 0), 0) : undefined;
    };
    let parity = await settle(parityOf, settleTimeoutMs, progress);
    let held = await readHolds(spec, target);
    // Valid events whose service died under every delivery: redriven as an operator would (after-kills.ts).
    const redrivenAfterKills: FaultReport['redrivenAfterKills'] = [];
    const afterKills = validHeldAfterKills(held, (id) => inputs.messageIds.get(id), answeredFailures);
    if (afterKills.size) {
      const audit = new OperationsAudit(target.bigquery, spec, target.project);
      for (const [name, eventIds] of afterKills) {
        progress(`redriving ${eventIds.length} valid event(s) ${name} dead-lettered after its service was killed under every delivery`);
        const { operationId, redriven } = await auditedRedrive(target.pubsub, audit, {
          consumer: spec.consumers[name],
          select: { reasons: ['max-delivery-attempts'], eventIds },
          // Read the whole hold (its poison too, left there) to find them.
          max: 200_000,
          idleMs: 4000,
          owner: 'mesh faults',
          intent: `fault run ${runId}: valid events dead-lettered after their service was killed under every delivery`,
          operator: `mesh faults --seed ${seed}`,
        });
        redrivenAfterKills.push({ consumer: name, operationId, eventIds: redriven.map((m) => m.eventId!) });
      }
      parity = await settle(parityOf, settleTimeoutMs, progress);
      held = await readHolds(spec, target);
    }
    const lost = await lostEvents(spec, target, inputs);

    // 4. The emulators.
    const emulators: FaultReport['emulators'] = [];
    if (options.emulatorRestarts) {
      progress('exporting Firestore, then kill -9 of the Firestore emulator');
      await mesh.emulators.firestore.exportData();
      const f = await killEmulator(mesh, 'firestore');
      kills.push(f);
      const after = await settle(parityOf, settleTimeoutMs, progress);
      emulators.push({ ...f, after: `parity ${after.verdict}: ${after.report.rows.length} checks`, ok: after.verdict === 'ok' });
      progress('kill -9 of the Pub/Sub emulator');
      const p = await killEmulator(mesh, 'pubsub');
      kills.push(p);
      const smoke = await runSmoke({ spec, target, timeoutMs: 180_000, onProgress: (line) => progress(`smoke: ${line}`) });
      emulators.push({ ...p, after: `mesh smoke ${smoke.ok ? 'passed' : `failed: ${smoke.failed.join(', ')}`}`, ok: smoke.ok });
    }

    return judgeFaults({
      runId,
      seed,
      sizes: options,
      elapsedSeconds: Math.round((Date.now() - started) / 1000),
      inputs,
      kills,
      crashes: crashesOf(mesh, kills),
      parity,
      held,
      answeredFailures,
      redrivenAfterKills,
      lost,
      tokens,
      emulators,
    });
  } finally {
    clearInterval(memoryLines);
    holdLog.end();
    memory.stop();
    progress(
      `emulators' peak memory: ${Object.entries(memory.peak)
        .map(([name, bytes]) => `${name} ${gigabytes(bytes)}`)
        .join(', ')}`,
    );
    await target.close().catch(() => undefined);
    await mesh.stop().catch((error: Error) => progress(`stopping the mesh: ${error.message}`));
  }
}

async function sendTraffic(
  spec: MeshSpec,
  target: SmokeTarget,
  inputs: FaultInputs,
  o: { seed: number; firstWindow: number; minSends: number; rate: number; busy: () => boolean; progress: (line: string) => void },
): Promise<void> {
  const generator = new TrafficGenerator({ duplicates: 0.1, poison: 0.01, outOfOrder: 0.05, orders: 0.35, raw: 0.3 }, o.seed);
  const sender = new TrafficSender(target.pubsub, spec, '//mesh/faults');
  const burst = Math.max(1, Math.round(o.rate / 4));
  let sent = 0;
  // Until the kills are over, and at least minSends.
  while (sent < o.minSends || o.busy()) {
    const at = Date.now();
    await Promise.all(
      Array.from({ length: burst }, async (_, i) => {
        const send = generator.next();
        const time = new Date(o.firstWindow + ((sent + i) % (MINUTES * 60)) * 1000);
        const messageId = await sender.send(send, time).catch(() => undefined);
        inputs.sent(send, messageId);
      }),
    );
    sent += burst;
    if (sent % (burst * 40) === 0) o.progress(`${sent} sends`);
    await sleep(250 - (Date.now() - at));
  }
  await sender.flush();
}

async function sendFuzz(
  spec: MeshSpec,
  target: SmokeTarget,
  mesh: LocalMesh,
  inputs: FaultInputs,
  sizes: FaultSizes,
  progress: (line: string) => void,
): Promise<void> {
  const push = decodingConsumers(spec).filter((c) => c.delivery === 'push');
  const topics = Object.keys(spec.topics);
  const bytes = { hugeBytes: sizes.hugeBytes, oversizeBytes: 15 * 1024 * 1024 };
  let pushed = 0;
  let published = 0;
  const pushing = async () => {
    while (pushed < sizes.pushFuzz) {
      const consumer = push[pushed++ % push.length];
      await inputs.postFuzz(mesh.serviceUrls[consumer.service!], consumer, bytes);
      if (pushed % 50 === 0) progress(`${pushed} push bodies posted, ${published} fuzzed messages published`);
    }
  };
  const publishing = async () => {
    while (published < sizes.pullFuzz) {
      const n = published++;
      // Half into topics (attributes broken), half into one consumer's redrive topic (payload broken).
      await inputs.publishFuzz(target.pubsub, { topic: topics[(n >> 1) % topics.length], redrive: n % 2 === 0 }, bytes.hugeBytes);
      if (published % 50 === 0) progress(`${published} fuzzed messages published, ${pushed} push bodies posted`);
    }
  };
  await Promise.all([...Array.from({ length: push.length ? 3 : 0 }, pushing), ...Array.from({ length: 3 }, publishing)]);
}

/** Parity until every row is ok (or the deadline): the last report and its verdict. */
async function settle(
  run: () => Promise<ParityReport>,
  timeoutMs: number,
  progress: (line: string) => void,
): Promise<{ report: ParityReport; verdict: string }> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const report = await run();
    const ok = report.rows.length > 0 && report.rows.every((r) => r.verdict === 'ok');
    const verdict = ok ? 'ok' : report.mismatches ? 'mismatch' : 'pending';
    if (ok || Date.now() > deadline) return { report, verdict };
    const line = `parity: ${report.rows.length - report.pending - report.mismatches} of ${report.rows.length} checks agree, ${report.pending} pending, ${report.mismatches} mismatched`;
    if (line !== last) progress(line);
    last = line;
    await sleep(5000);
  }
}

/** consumer -> what its hold keeps (one entry per held message: the hold's own dedup). */
async function readHolds(spec: MeshSpec, target: SmokeTarget): Promise<Map<string, HeldMessage[]>> {
  const held = new Map<string, HeldMessage[]>();
  await Promise.all(decodingConsumers(spec).map(async (c) => held.set(c.name, await listHeld(target.pubsub, c, { max: 200_000, idleMs: 4000 }))));
  return held;
}

/** consumer -> valid event ids Pub/Sub accepted that its sink does not have. */
async function lostEvents(spec: MeshSpec, target: SmokeTarget, inputs: FaultInputs): Promise<Map<string, string[]>> {
  const warehouse = new WarehouseReference(target.bigquery, spec, target.project);
  const sinks = new FirestoreSinks(target.firestore);
  const lost = new Map<string, string[]>();
  for (const [topic, idSet] of inputs.events) {
    const ids = [...idSet];
    for (const c of decodingConsumers(spec, topic)) {
      const has = c.service === 'warehouse' ? await warehouse.has(topic, ids) : await sinks.applied(c.name, ids);
      lost.set(
        c.name,
        ids.filter((id) => !has.has(id)),
      );
    }
  }
  return lost;
}
