/**
 * The push benches' load generator, run in a worker thread (its own event loop and heap, off the
 * servers' event loop): bench/load-generator.ts starts it and posts it a LoadJob per slice.
 *
 * Keep-alive HTTP/1.1 over raw sockets: each connection sends one pre-serialized request, waits for
 * the whole response, sends the next (no pipelining, like Pub/Sub's and node's own clients). Far
 * cheaper per request than node:http's client, so on 2 cores the server, not the generator, is what
 * saturates (with an http.Agent client both servers measured the same: the generator's ceiling).
 * Every response must be a 204 (no body); anything else counts as a failure and ends the connection.
 */
import * as net from 'node:net';
import { parentPort } from 'node:worker_threads';
import type { LoadJob, LoadResult } from '../load-generator';

const OK = Buffer.from('HTTP/1.1 204 ');
const END = Buffer.from('\r\n\r\n');

async function run(job: LoadJob): Promise<LoadResult> {
  const body = Buffer.from(job.body);
  const head =
    `POST ${job.path} HTTP/1.1\r\nhost: 127.0.0.1:${job.port}\r\n` +
    Object.entries(job.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    `content-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n`;
  const request = Buffer.concat([Buffer.from(head), body]);
  const measureFrom = Date.now() + job.warmupMs;
  const deadline = measureFrom + job.durationMs;
  let ok = 0;
  let bad = 0;
  let firstError: string | undefined;
  const connection = () =>
    new Promise<void>((resolve) => {
      const socket = net.connect(job.port, '127.0.0.1');
      socket.setNoDelay(true);
      let pending: Buffer = Buffer.alloc(0);
      const fail = (why: string) => {
        bad++;
        firstError ??= why;
        socket.destroy();
        resolve();
      };
      socket.on('connect', () => socket.write(request));
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        const end = pending.indexOf(END);
        if (end < 0) return;
        if (pending.compare(OK, 0, OK.length, 0, OK.length) !== 0) return fail(pending.subarray(0, 200).toString());
        if (end + 4 !== pending.length) return fail('unexpected bytes after a 204');
        pending = Buffer.alloc(0);
        const now = Date.now();
        if (now >= measureFrom) ok++;
        if (now < deadline) socket.write(request);
        else {
          socket.end();
          resolve();
        }
      });
      socket.on('error', (error) => fail(error.message));
      socket.on('close', () => resolve());
    });
  await Promise.all(Array.from({ length: job.concurrency }, connection));
  const seconds = (Date.now() - measureFrom) / 1000;
  return { ok, bad, seconds, firstError };
}

if (!parentPort) throw new Error('bench/workers/load-generator.ts runs in a worker thread (bench/load-generator.ts starts it)');
const port = parentPort;
port.on('message', (job: LoadJob) => {
  void run(job).then((result) => port.postMessage(result));
});
