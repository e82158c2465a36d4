/**
 * The consumer runtime's push endpoint against a bare server, measured in the same run: msgs/s
 * through createMeshService's `listener` (read body -> parse the wrapped push -> envelope + schema
 * decode -> no-op handler -> 204, push auth off) against a bare node:http server that reads and
 * JSON.parses the same body and answers 204. Same body (a real analytics envelope from
 * MeshPublisher.prepare(), base64 in the wrapped form: bench/analytics-push-body.ts), same load
 * generator (raw keep-alive sockets in a worker thread, off the servers' event loop:
 * bench/workers/load-generator.ts), same concurrency. The processor's pipelines on Firestore have
 * their own bench (bench/processor.bench.ts).
 *
 * The sides take turns (three 1-second slices per side and round; who goes first rotates) and the
 * ratio is of the rates over all slices, so load from other processes hits the sides alike.
 * BENCH_CONSUMER_ROUNDS, _PUSH_MS (per side and round) and _PUSH_CONCURRENCY change the defaults
 * (3, 3000, 32). On a shared 2-core machine the ratio is noisy: run it twice before believing a
 * small change.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PubSub } from '@google-cloud/pubsub';
import { createLogger, createMeshService, type DeadLetterSink } from '../shared/consumer';
import { loadSpec, pushPath, type MeshSpec } from '../shared/spec';
import { analyticsPushBody } from './analytics-push-body';
import { LoadGenerator, type LoadJob } from './load-generator';
import { runWhenMain } from './standalone';
import { interleaved, type Sample } from './turns';
import type { BenchResult } from './types';

process.env.METADATA_SERVER_DETECTION ??= 'none';

const ROUNDS = Number(process.env.BENCH_CONSUMER_ROUNDS ?? 3);
/** Measured time per side and round, split into PUSH_SLICES turns. */
const PUSH_MS = Number(process.env.BENCH_CONSUMER_PUSH_MS ?? 3000);
/** Each push slice opens fresh connections and does not count its first WARMUP_MS. */
const WARMUP_MS = 300;
/** Concurrent requests in flight (Pub/Sub pushes many at once to one instance). */
const PUSH_CONCURRENCY = Number(process.env.BENCH_CONSUMER_PUSH_CONCURRENCY ?? 32);

const PUSH_CONSUMER = 'processor-analytics';
const silent = createLogger({ level: 'silent' });
const noDeadLetters: DeadLetterSink = {
  publish: async () => {
    throw new Error('the bench sends no poison');
  },
  flush: async () => undefined,
};

/**
 * Turns per side and round: the sides take turns in short slices, so load from other processes hits
 * them alike.
 */
const PUSH_SLICES = 3;

function listen(listener: http.RequestListener): Promise<http.Server> {
  const server = http.createServer(listener);
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function closeServer(server: http.Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The baseline: reads the body, JSON.parses it, answers 204. Nothing else. */
const bareListener: http.RequestListener = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(204);
    res.end();
  });
};

async function benchPush(spec: MeshSpec, progress: (line: string) => void): Promise<BenchResult> {
  const body = Buffer.from(analyticsPushBody(spec, PUSH_CONSUMER));
  // The processor's service as it is wired in production, minus Pub/Sub (the handler is a no-op, no
  // poison is sent, and pull consumers are only opened by start(), which the bench never calls).
  let handled = 0;
  const noop = async () => {
    handled++;
    return 'done' as const;
  };
  const service = createMeshService({
    spec,
    serviceName: 'processor',
    handlers: { 'processor-analytics': noop, 'processor-orders': noop },
    pubsub: {} as PubSub,
    deadLetter: () => noDeadLetters,
    verifyPushAuth: false,
    log: silent,
  });
  const generator = new LoadGenerator();
  let bareServer: http.Server | undefined;
  let meshServer: http.Server | undefined;
  try {
    bareServer = await listen(bareListener);
    meshServer = await listen(service.listener);
    type Side = 'bare' | 'mesh';
    const job = (server: http.Server, path: string): LoadJob => ({
      port: (server.address() as AddressInfo).port,
      path,
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)' },
      concurrency: PUSH_CONCURRENCY,
      warmupMs: WARMUP_MS,
      durationMs: PUSH_MS / PUSH_SLICES,
    });
    // One slice: a fresh set of connections, WARMUP_MS not counted, then SLICE_MS counted.
    const slice = async (which: Side): Promise<Sample> => {
      const result = await generator.run(which === 'bare' ? job(bareServer!, '/push') : job(meshServer!, pushPath(PUSH_CONSUMER)));
      if (result.bad) throw new Error(`push bench: ${result.bad} ${which} requests failed (first: ${result.firstError})`);
      return { count: result.ok, seconds: result.seconds };
    };
    // JIT warm-up of both servers and the generator.
    await generator.run({ ...job(bareServer, '/push'), warmupMs: 0, durationMs: 1000 });
    await generator.run({ ...job(meshServer, pushPath(PUSH_CONSUMER)), warmupMs: 0, durationMs: 1000 });
    const { total, rounds } = await interleaved(['bare', 'mesh'] as const, ROUNDS, PUSH_SLICES, slice, (round, r) =>
      progress(
        `push round ${round}/${ROUNDS}: bare node:http ${r.bare.toFixed(0)} msg/s, mesh listener ${r.mesh.toFixed(0)} msg/s (ratio ${(r.mesh / r.bare).toFixed(2)})`,
      ),
    );
    if (handled === 0) throw new Error('push bench: the handler never ran');
    return {
      name: 'push endpoint (createMeshService listener)',
      baseline: 'bare node:http reading + JSON.parse of the same wrapped body',
      ratio: total.mesh / total.bare,
      goal: 0.5,
      detail: `${body.length}-byte wrapped analytics push, ${PUSH_CONCURRENCY} keep-alive connections, ${ROUNDS}x${PUSH_MS / 1000}s per side in interleaved slices: mesh ${total.mesh.toFixed(0)} msg/s vs bare ${total.bare.toFixed(0)} msg/s (per-round ratios ${rounds.map((r) => (r.mesh / r.bare).toFixed(2)).join(', ')})`,
    };
  } finally {
    await generator.close();
    await closeServer(bareServer);
    await closeServer(meshServer);
  }
}

export async function run(progress: (line: string) => void = () => undefined): Promise<BenchResult[]> {
  return [await benchPush(loadSpec(), progress)];
}

runWhenMain(module, run);
