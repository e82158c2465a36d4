/**
 * One load run: sends the demo traffic at a steady rate for a duration and reports what it reached.
 * `mesh load` prints it; the whole-mesh bench (bench/mesh.bench.ts) drives it at rising rates.
 *
 * When it falls behind the asked rate it says why, from what it measured while sending: its own CPU
 * (a sender at a full core cannot go faster), the event loop's delay, the machine's load (the
 * emulators and services on the same cores), or Pub/Sub's acknowledgements lagging (sends in flight).
 */
import * as os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { PubSub } from '@google-cloud/pubsub';
import type { MeshSpec } from '../../shared/spec';
import { TrafficGenerator, type SendKind, type TrafficMix } from './traffic';
import { TrafficSender } from './sender';

export interface LoadRunOptions {
  spec: MeshSpec;
  pubsub: PubSub;
  /** Events a second. */
  rate: number;
  seconds: number;
  mix: TrafficMix;
  seed: number;
  /** About every 50 ms while sending. */
  onProgress?: (progress: { sent: number; acked: number; errors: number; total: number; ackedByTopic: Readonly<Record<string, number>> }) => void;
  /** True stops sending early (SIGINT). */
  stopped?: () => boolean;
}

export interface LoadRunReport {
  asked: number;
  sent: number;
  acked: number;
  /** Acknowledged by Pub/Sub, per topic. */
  ackedByTopic: Record<string, number>;
  errors: number;
  lastError?: string;
  counts: Record<SendKind | 'raw' | 'outOfOrder', number>;
  /** Sends a second over the sending time (first send to last send). */
  sentPerSecond: number;
  /** Including waiting for the last acknowledgements. */
  elapsedSeconds: number;
  /** Whether the asked rate was reached (within 5 %). */
  reached: boolean;
  /** Why not, when it was not. */
  shortfall?: string;
  /** What the diagnosis rests on. */
  measured: { cpuShareOfOneCore: number; eventLoopDelayP99Ms: number; loadAverage: number; cores: number; peakInFlight: number };
  publishStats: ReturnType<TrafficSender['publishStats']>;
}

/** Within 5 % of the asked rate counts as reached: the last tick's rounding and timer jitter. */
const REACHED_SHARE = 0.95;

export async function runLoad(options: LoadRunOptions): Promise<LoadRunReport> {
  const { rate, seconds } = options;
  const generator = new TrafficGenerator(options.mix, options.seed);
  const sender = new TrafficSender(options.pubsub, options.spec);
  const total = Math.round(rate * seconds);
  const counts: LoadRunReport['counts'] = { event: 0, duplicate: 0, poison: 0, raw: 0, outOfOrder: 0 };
  let acked = 0;
  const ackedByTopic: Record<string, number> = Object.fromEntries(Object.keys(options.spec.topics).map((t) => [t, 0]));
  let errors = 0;
  let lastError: string | undefined;
  const inFlight = new Set<Promise<void>>();
  let peakInFlight = 0;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const cpuBefore = process.cpuUsage();
  const started = Date.now();
  let sent = 0;
  while (sent < total && !options.stopped?.()) {
    // Send what is due by now, then sleep a tick: a steady rate without a timer per message.
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate));
    while (sent < due) {
      const send = generator.next();
      counts[send.kind]++;
      if (send.raw && send.kind === 'event') counts.raw++;
      if (send.outOfOrder) counts.outOfOrder++;
      const p = sender
        .send(send)
        .then(() => {
          acked++;
          ackedByTopic[send.topic] = (ackedByTopic[send.topic] ?? 0) + 1;
        })
        .catch((error: Error) => {
          errors++;
          lastError = error.message;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      sent++;
    }
    peakInFlight = Math.max(peakInFlight, inFlight.size);
    options.onProgress?.({ sent, acked, errors, total, ackedByTopic });
    await new Promise((r) => setTimeout(r, 50));
  }
  const sendingSeconds = Math.max((Date.now() - started) / 1000, 0.001);
  const cpu = process.cpuUsage(cpuBefore);
  delay.disable();
  await sender.flush();
  await Promise.all(inFlight);
  options.onProgress?.({ sent, acked, errors, total, ackedByTopic });
  const sentPerSecond = sent / sendingSeconds;
  const measured = {
    cpuShareOfOneCore: (cpu.user + cpu.system) / 1e6 / sendingSeconds,
    eventLoopDelayP99Ms: delay.percentile(99) / 1e6,
    loadAverage: os.loadavg()[0],
    cores: os.cpus().length,
    peakInFlight,
  };
  // Stopped early (SIGINT) is not a shortfall: judge the rate over the time it ran.
  const reached = sentPerSecond >= rate * REACHED_SHARE;
  return {
    asked: rate,
    sent,
    acked,
    ackedByTopic,
    errors,
    lastError,
    counts,
    sentPerSecond,
    elapsedSeconds: (Date.now() - started) / 1000,
    reached,
    shortfall: reached ? undefined : explainShortfall(rate, sentPerSecond, measured),
    measured,
    publishStats: sender.publishStats(),
  };
}

/** Why a run sent fewer than asked, from the measurements; the first cause that holds. */
export function explainShortfall(asked: number, reached: number, m: LoadRunReport['measured']): string {
  const head = `sent ${Math.round(reached)}/s of the ${asked}/s asked`;
  const perSend = (m.cpuShareOfOneCore * 1000) / Math.max(reached, 1);
  if (m.cpuShareOfOneCore >= 0.85)
    return `${head}: this sender used ${Math.round(m.cpuShareOfOneCore * 100)} % of a core (${perSend.toFixed(2)} ms of CPU a send) and cannot go faster in one process; run two \`mesh load\` at half the rate each, or send a larger --raw share (the plain client skips MeshPublisher's schema check)`;
  if (m.loadAverage >= m.cores)
    return `${head}: the machine is saturated (load average ${m.loadAverage.toFixed(1)} on ${m.cores} cores: the emulators and services use the CPU this sender would need; event-loop delay p99 ${m.eventLoopDelayP99Ms.toFixed(0)} ms)`;
  if (m.eventLoopDelayP99Ms >= 200)
    return `${head}: this process's event loop was delayed ${m.eventLoopDelayP99Ms.toFixed(0)} ms at p99 (garbage collection or another process taking its core)`;
  return `${head}: Pub/Sub acknowledged slowly (up to ${m.peakInFlight} sends in flight); the emulator is the bottleneck`;
}
