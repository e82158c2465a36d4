/**
 * Finding the smoke's own poison in a consumer's dead-letter hold without disturbing anything else
 * held there (other people's triage data).
 *
 * One sweep pulls the hold with unary Pull (shared/consumer/unary-pull.ts: works on the emulator and
 * in GCP alike), up to `max` messages. A message that is not the run's poison stays leased until the
 * sweep ends, so the sweep sees each held message once, and is then released at once (ack deadline
 * 0): it is back in the hold, as before, within seconds, and was never acked. The run's poison
 * (matched by its ce-id and the run id attribute) is acked: otherwise every smoke run would leave a
 * message per consumer in the holds, and in GCP the `<consumer>-dlq-hold` alert (undelivered > 0,
 * infra/monitoring.ts) would fire until someone triaged the smoke's own poison. `keep` leaves it
 * there instead (e.g. to look at it with `mesh dead-letters`).
 */
import type { PubSub } from '@google-cloud/pubsub';
import { UnaryPuller, type Logger, type PulledMessage } from '../../shared/consumer';

export interface HeldPoison {
  messageId: string;
  reason?: string;
  consumer?: string;
  error?: string;
}

export interface SweepResult {
  /** The poison, if it was among the messages seen. */
  found?: HeldPoison;
  /** Messages looked at (the poison included). */
  looked: number;
  /** The last pull or ack failure (permission denied, a missing subscription ...). */
  error?: string;
}

export interface SweepOptions {
  pubsub: PubSub;
  /** The hold subscription id, `<consumer>-dlq-hold`. */
  hold: string;
  /** The poison's ce-id. */
  eventId: string;
  /** Only a message with this `mesh-smoke-run` attribute value (besides the ce-id) is ours. */
  runAttribute: [name: string, value: string];
  /** Leave the poison in the hold instead of acking it. */
  keep?: boolean;
  /** At most this many messages per sweep. Default 1000. */
  max?: number;
  /** End the sweep when nothing came for this long. Default 2500 ms (an empty Pull waits 2 s). */
  idleMs?: number;
  /** End the sweep after this long in any case. Default 15 s. */
  maxMs?: number;
}

export async function sweepHold(options: SweepOptions): Promise<SweepResult> {
  const max = options.max ?? 1000;
  const idleMs = options.idleMs ?? 2500;
  const started = Date.now();
  let lastMessageAt = started;
  let looked = 0;
  let error: string | undefined;
  let found: HeldPoison | undefined;
  const settling: Promise<void>[] = [];
  const note = (obj: unknown, message?: string) => {
    const err = (obj as { err?: Error })?.err;
    error = err?.message ?? message ?? String(obj);
  };
  const log = { warn: note, error: note, info: () => undefined, debug: () => undefined, trace: () => undefined } as unknown as Logger;
  const puller = new UnaryPuller({
    pubsub: options.pubsub,
    subscription: options.hold,
    maxInFlight: max,
    leaseSeconds: 60,
    log,
    onMessage: (message: PulledMessage) => {
      looked++;
      lastMessageAt = Date.now();
      const a = message.incoming.attributes ?? {};
      const [name, value] = options.runAttribute;
      if (found || a['ce-id'] !== options.eventId || a[name] !== value) return; // released when the sweep ends
      found = { messageId: message.incoming.messageId, reason: a.reason, consumer: a.consumer, error: a.error };
      if (options.keep) return;
      settling.push(message.ackWithResponse().catch((e: Error) => void (error = `ack of the poison failed: ${e.message}`)));
    },
  });
  await puller.start();
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const now = Date.now();
      if (found || looked >= max || now - lastMessageAt >= idleMs || now - started >= (options.maxMs ?? 15_000)) break;
    }
  } finally {
    await Promise.all(settling);
    await puller.close(); // everything else still out goes back with ack deadline 0
  }
  return { found, looked, error };
}
