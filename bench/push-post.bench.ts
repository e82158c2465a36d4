/**
 * The push relay's HTTP leg (shared/local/http-post.ts, node:http with a keep-alive agent) against
 * undici's fetch, the relay's transport before it: msgs/s of the same wrapped push body POSTed to the
 * same bare server (a worker thread that reads the body and answers 204, so it takes none of this
 * thread's CPU), same concurrency. The sides take turns (one slice per side and round; who goes first
 * rotates). BENCH_PUSH_POST_ROUNDS, _MS (per side and round) and _CONCURRENCY change the defaults
 * (3, 2000, 32).
 */
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { JsonPoster } from '../shared/local/http-post';
import { loadSpec } from '../shared/spec';
import { analyticsPushBody } from './analytics-push-body';
import { runWhenMain } from './standalone';
import { interleaved, throughput } from './turns';
import type { BenchResult } from './types';

const ROUNDS = Number(process.env.BENCH_PUSH_POST_ROUNDS ?? 3);
const SLICE_MS = Number(process.env.BENCH_PUSH_POST_MS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_PUSH_POST_CONCURRENCY ?? 32);

/** A bare push endpoint: reads the body, answers 204. Posts its port back. */
const SERVER = `
const http = require('node:http');
const { parentPort } = require('node:worker_threads');
const server = http.createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(204).end()); });
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address()));
`;

export async function run(progress: (line: string) => void = () => undefined): Promise<BenchResult[]> {
  const worker = new Worker(SERVER, { eval: true });
  try {
    const address = await new Promise<AddressInfo>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const endpoint = `http://127.0.0.1:${address.port}/push/processor-analytics`;
    // The relay posts what Pub/Sub would push: a real analytics event in the wrapped form.
    const body = analyticsPushBody(loadSpec(), 'processor-analytics');
    const poster = new JsonPoster(endpoint, { maxSockets: CONCURRENCY, timeoutMs: 10_000 });
    const expect204 = (status: number) => {
      if (status !== 204) throw new Error(`push-post bench: the server answered ${status}`);
    };
    const sides = {
      poster: () => throughput(CONCURRENCY, SLICE_MS, async () => expect204(await poster.post(body))),
      fetch: () =>
        throughput(CONCURRENCY, SLICE_MS, async () => {
          const response = await fetch(endpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(10_000),
          });
          await response.arrayBuffer();
          expect204(response.status);
        }),
    };
    progress('push-post warm-up ...');
    await sides.poster();
    await sides.fetch();
    const { total, rounds } = await interleaved(
      ['poster', 'fetch'] as const,
      ROUNDS,
      1,
      (side) => sides[side](),
      (round, r) => progress(`push-post round ${round}/${ROUNDS}: node:http ${r.poster.toFixed(0)} posts/s, fetch ${r.fetch.toFixed(0)} posts/s`),
    );
    poster.close();
    return [
      {
        name: 'push relay POST (node:http keep-alive) vs fetch',
        baseline: "undici's fetch of the same body to the same server",
        ratio: total.poster / total.fetch,
        detail: `${CONCURRENCY} in flight, ${ROUNDS}x${SLICE_MS / 1000}s per side: ${total.poster.toFixed(0)} vs ${total.fetch.toFixed(0)} posts/s (per-round ratios ${rounds.map((r) => (r.poster / r.fetch).toFixed(2)).join(', ')})`,
      },
    ];
  } finally {
    await worker.terminate();
  }
}

runWhenMain(module, run);
