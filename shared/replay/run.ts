/**
 * Runs a replay: reads the scope from the warehouse (source.ts) in publish order and publishes each
 * event to the consumer's private redrive topic (`<consumer>-redrive`, whose subscription feeds the
 * same endpoint with the same delivery and dead-letter policy), never its real-time subscription and
 * never the topic, so no other consumer sees it. Held to the ceiling by a Pacer, with the replay id
 * on every message, and every step written to the audit (audit.ts).
 *
 * A checkpoint moves only past events whose publish succeeded, and those before them: a cancel
 * (the signal) or a crash resumes from it without skipping anything; what was sent after it may be
 * sent twice, which the consumers' dedup by event id absorbs.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { consumerResources } from '../spec/names';
import type { MeshSpec } from '../spec/types';
import { recordOf, type ReplayAudit } from './audit';
import { Pacer, type PacerClock } from './pacer';
import type { ReplayRequest } from './request';
import type { ReplayCheckpoint, ReplayMessage, WarehouseReplaySource } from './source';

export interface ReplayRunOptions {
  pubsub: PubSub;
  spec: MeshSpec;
  source: WarehouseReplaySource;
  audit: ReplayAudit;
  request: ReplayRequest;
  /** Events in scope (from the plan), recorded with each step. */
  inScope: number;
  /** Where an earlier run of this replay stopped: go on after it. */
  resume?: { checkpoint?: ReplayCheckpoint; sent: number; elapsedSeconds: number };
  /** Aborting it cancels the replay cleanly (recorded as cancelled, resumable). */
  signal?: AbortSignal;
  /** Called as each event is handed to the publisher (the pacer let it go). */
  onSending?: (message: ReplayMessage) => void;
  /** Called after each event is published. */
  onSent?: (sent: number, message: ReplayMessage) => void;
  /** How often a progress step is written to the audit. Default 30 s. */
  progressEveryMs?: number;
  /** Events read from the warehouse per query. Default 500. */
  pageSize?: number;
  clock?: PacerClock;
}

export interface ReplayOutcome {
  state: 'completed' | 'cancelled' | 'failed';
  sent: number;
  /** Sent by this run (a resumed run adds to what was sent before). */
  sentNow: number;
  elapsedSeconds: number;
  checkpoint?: ReplayCheckpoint;
  error?: Error;
}

export async function runReplay(options: ReplayRunOptions): Promise<ReplayOutcome> {
  const { pubsub, source, audit, request, signal } = options;
  const consumer = options.spec.consumers[request.consumer];
  const topic = pubsub.topic(consumerResources(consumer).redriveTopic, {
    messageOrdering: true,
    batching: { maxMessages: 100, maxMilliseconds: 10 },
  });
  const pacer = new Pacer(request.ceilingPerSecond, options.clock);
  const progressEveryMs = options.progressEveryMs ?? 30_000;
  const before = options.resume ?? { sent: 0, elapsedSeconds: 0 };
  let checkpoint = before.checkpoint;
  let sentNow = 0;
  const startedAt = performance.now();
  let lastProgressAt = startedAt;
  const progress = (detail?: string) => ({
    inScope: options.inScope,
    sent: before.sent + sentNow,
    checkpoint,
    elapsedSeconds: before.elapsedSeconds + (performance.now() - startedAt) / 1000,
    ...(detail ? { detail } : {}),
  });

  await audit.record(recordOf(request, 'started', progress(options.resume ? `resumed after ${before.sent} sent` : undefined)));
  let outcome: ReplayOutcome['state'] = 'completed';
  let error: Error | undefined;
  try {
    // The next page is read while this one is sent: a read between pages would stall the sends,
    // and the pacer does not make a stall up (measured: 0.74 of a 1000/s ceiling without it).
    const pages = source.pages(request.scope, request.id, checkpoint, options.pageSize);
    let upcoming = pages.next();
    for (;;) {
      const next = await upcoming;
      if (next.done) break;
      const page = next.value;
      upcoming = pages.next();
      upcoming.catch(() => undefined); // awaited on the next turn; a cancel may never get there
      // Publishes of this page, in order; the checkpoint moves past a prefix once all of it is sent.
      const sends: Promise<unknown>[] = [];
      let taken = 0;
      let stopped: unknown;
      try {
        for (const message of page) {
          await pacer.take(signal);
          options.onSending?.(message);
          sends.push(
            topic
              .publishMessage({ data: message.data, attributes: message.attributes, ...(message.orderingKey ? { orderingKey: message.orderingKey } : {}) })
              .then(() => {
                sentNow++;
                options.onSent?.(before.sent + sentNow, message);
              }),
          );
          taken++;
        }
      } catch (error) {
        stopped = error; // cancelled: what was taken still counts once it is sent
      }
      const results = await Promise.allSettled(sends);
      const failed = results.findIndex((r) => r.status === 'rejected');
      const done = failed === -1 ? taken : failed;
      if (done > 0) checkpoint = { publishTime: page[done - 1].publishTime, eventId: page[done - 1].eventId };
      if (failed !== -1) {
        const reason = (results[failed] as PromiseRejectedResult).reason as Error;
        throw Object.assign(new Error(`publishing to ${consumerResources(consumer).redriveTopic} failed: ${reason.message}`), { cause: reason });
      }
      if (stopped) throw stopped instanceof Error ? stopped : new Error(String(stopped));
      if (performance.now() - lastProgressAt >= progressEveryMs) {
        lastProgressAt = performance.now();
        await audit.record(recordOf(request, 'progress', progress()));
      }
    }
  } catch (caught) {
    if (signal?.aborted) outcome = 'cancelled';
    else {
      outcome = 'failed';
      error = caught as Error;
    }
  } finally {
    await topic.flush().catch(() => undefined);
  }
  const last = progress(outcome === 'failed' ? error!.message : outcome === 'cancelled' ? 'cancelled by the operator' : undefined);
  await audit.record(recordOf(request, outcome, last));
  return { state: outcome, sent: last.sent, sentNow, elapsedSeconds: last.elapsedSeconds, checkpoint, ...(error ? { error } : {}) };
}
