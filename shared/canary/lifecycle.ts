/**
 * A canary from start to end, the same locally and in GCP:
 *
 *   start    create `<c>-canary` on the consumer's topic, filtered to the canary's buckets (GCP; the
 *            emulator ignores filters and the canary instance applies the same rule), then record the
 *            control `running` with `since` a little after the subscription existed;
 *   end      (abort or promote) record the control ended (a transaction: once), wait for the canary
 *            instances to stop, move what `<c>-canary` still holds to `<c>-redrive` (the stable side's
 *            private subscription), delete `<c>-canary`, and redrive the dead letters the canary made.
 *
 * Nothing is lost at the end: a message of the canary's buckets published after `since` is in
 * `<c>-canary` until the canary acks it (handled) or it is moved; what the canary dead-lettered is in
 * the hold, tagged with its source subscription, and is redriven. What both sides handled (a message
 * moved after the canary wrote its effect but before its ack landed) is a duplicate the stable side's
 * dedup by event id absorbs.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import { UserError } from '../errors';
import { redriveHeld } from '../consumer/hold-actions';
import { chunks, SubscriberRpc } from '../consumer/subscriber-rpc';
import { consumerResources } from '../spec/names';
import { DEFAULT_CANARY_POLICY, type ConsumerSpec } from '../spec/types';
import { readControl } from '../operations/controls';
import { endCanary, readCanary, readSideReports, writeCanary, type CanaryControl } from './control';
import { canaryFilter, MAX_FILTER_BYTES } from './routing';

/**
 * How far after the canary subscription's creation the split begins. Pub/Sub stamps publish times with
 * its own clock and a subscription takes only what is published after it exists: a margin over clock
 * skew keeps a message the canary subscription may have missed on the stable side.
 */
export const SPLIT_DELAY_MS = 2000;
/** A canary instance whose report is older than this is taken for dead (reports come every 2 s). */
export const STALE_REPORT_MS = 15_000;

export interface CanaryStartRequest {
  consumer: ConsumerSpec;
  share: number;
  build: string;
  owner: string;
  intent: string;
  operator: string;
  canaryId: string;
  /**
   * The canary subscription is the deployment's (GCP: infra/canaries.ts made it from the stack config):
   * check it is there with this share's filter instead of creating it. Default: create it (locally).
   */
  deployed?: boolean;
}

/** The subscription filter of a canary: the consumer's own filter AND the canary's buckets. */
export function canarySubscriptionFilter(consumer: Pick<ConsumerSpec, 'filter'>, share: number): string {
  const buckets = canaryFilter(share);
  const filter = consumer.filter ? `(${consumer.filter}) AND (${buckets})` : buckets;
  if (Buffer.byteLength(filter) > MAX_FILTER_BYTES)
    throw new UserError(
      `the consumer's filter and a ${share}% canary's buckets make a filter of ${Buffer.byteLength(filter)} bytes, past Pub/Sub's ${MAX_FILTER_BYTES}`,
      {
        where: '--share',
        hint: 'take a share of whole tens (10%, 20%, ...): their filter is shortest',
      },
    );
  return filter;
}

/** Creates `<c>-canary` (or checks the deployed one) and records the canary running. Refuses a second canary, a paused or BigQuery consumer. */
export async function startCanary(target: { pubsub: PubSub; firestore: Firestore }, request: CanaryStartRequest): Promise<CanaryControl> {
  const { consumer, share } = request;
  if (consumer.delivery === 'bigquery') throw new UserError(`${consumer.name} is a BigQuery subscription: there is no build of it to try as a canary`);
  const pause = await readControl(target.firestore, consumer.name);
  if (pause?.paused)
    throw new UserError(
      `${consumer.name} is paused (since ${pause.since}, by ${pause.owner}: ${pause.intent}): a canary of it would be judged against a stable side that handles nothing`,
      {
        hint: `resume it first: npm run mesh -- resume ${consumer.name} --owner NAME --intent "why"`,
      },
    );
  const current = await readCanary(target.firestore, consumer.name);
  if (current?.state === 'running')
    throw new UserError(`${consumer.name} has a canary running already (${current.canaryId}, ${current.share}% since ${current.since})`, {
      hint: `promote or abort it first: npm run mesh -- canary abort ${consumer.name} --owner NAME --intent "why"`,
    });
  if (current && current.cleanup?.error !== undefined)
    throw new UserError(`the end of ${consumer.name}'s last canary (${current.canaryId}) did not finish: ${current.cleanup.error}`, {
      hint: `finish it first: npm run mesh -- canary abort ${consumer.name} --owner NAME --intent "finish the cleanup"`,
    });
  const filter = canarySubscriptionFilter(consumer, share);
  const names = consumerResources(consumer);
  const [exists] = await target.pubsub.subscription(names.canarySubscription).exists();
  if (request.deployed) await assertDeployed(target.pubsub, consumer, share, exists);
  else if (exists)
    throw new UserError(`${names.canarySubscription} exists, but no canary of ${consumer.name} is running: a previous end did not finish`, {
      hint: `npm run mesh -- canary abort ${consumer.name} --owner NAME --intent "finish the cleanup"`,
    });
  else await createCanarySubscription(target.pubsub, consumer, filter);
  const control: CanaryControl = {
    consumer: consumer.name,
    canaryId: request.canaryId,
    state: 'running',
    share,
    since: new Date(Date.now() + SPLIT_DELAY_MS).toISOString(),
    build: request.build,
    policy: consumer.canary ?? DEFAULT_CANARY_POLICY,
    owner: request.owner,
    intent: request.intent,
    operator: request.operator,
  };
  try {
    await writeCanary(target.firestore, control);
  } catch (error) {
    await target.pubsub
      .subscription(names.canarySubscription)
      .delete()
      .catch(() => undefined);
    throw error;
  }
  return control;
}

export interface CanaryCleanup {
  backlogMoved: number;
  deadLettersRedriven: number;
}

export interface CleanupOptions {
  /** Longest wait for the canary instances to stop. Default 60 s. */
  stopTimeoutMs?: number;
  /**
   * Delete `<c>-canary` once empty. Default true: locally the start made it; in GCP it is the
   * deployment's (infra/canaries.ts) and goes with the canary's entry in the stack config.
   */
  deleteSubscription?: boolean;
  /** Called as messages move: a progress line. */
  onMoved?: (moved: number) => void;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** Resolves once every canary instance reported stopped, or went silent (STALE_REPORT_MS), or the timeout; true when all stopped cleanly. */
async function canaryInstancesStopped(db: Firestore, control: CanaryControl, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reports = (await readSideReports(db, control.consumer, control.canaryId)).filter((r) => r.side === 'canary');
    const live = reports.filter((r) => !r.stopped && Date.now() - Date.parse(r.updatedAt) < STALE_REPORT_MS);
    if (!live.length) return reports.every((r) => r.stopped);
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Moves `<c>-canary`'s messages to `<c>-redrive`, each acked only after its copy is published, until
 * the subscription stayed empty for `idleMs`.
 */
async function moveBacklog(pubsub: PubSub, consumer: ConsumerSpec, idleMs: number, onMoved?: (n: number) => void): Promise<number> {
  const names = consumerResources(consumer);
  const rpc = await SubscriberRpc.open(pubsub, names.canarySubscription);
  const redrive = pubsub.topic(names.redriveTopic, { messageOrdering: true });
  let moved = 0;
  let lastMessageAt = Date.now();
  try {
    while (Date.now() - lastMessageAt < idleMs) {
      let received;
      try {
        received = await rpc.pull(500);
      } catch (error) {
        if ((error as { code?: number }).code === 4) continue; // DEADLINE_EXCEEDED: held open, nothing came
        throw error;
      }
      if (!received.length) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      await Promise.all(
        received.map(({ message }) =>
          redrive.publishMessage({
            data: Buffer.from(message!.data ?? new Uint8Array()),
            attributes: { ...(message!.attributes ?? {}) },
            ...(message!.orderingKey ? { orderingKey: message!.orderingKey } : {}),
          }),
        ),
      );
      for (const ids of chunks(received.map((r) => r.ackId!))) await rpc.acknowledge(ids);
      moved += received.length;
      onMoved?.(moved);
      lastMessageAt = Date.now();
    }
  } finally {
    await redrive.flush().catch(() => undefined);
    await rpc.close().catch(() => undefined);
  }
  return moved;
}

/**
 * Gives the stable side back what the canary did not finish (see the top of this file) and deletes
 * `<c>-canary`; records the result on the control. Safe to run again after a failure: it picks up
 * where the subscription and the hold are.
 */
export async function cleanUpCanary(
  target: { pubsub: PubSub; firestore: Firestore },
  consumer: ConsumerSpec,
  control: CanaryControl,
  options: CleanupOptions = {},
): Promise<CanaryCleanup> {
  const names = consumerResources(consumer);
  try {
    const clean = await canaryInstancesStopped(target.firestore, control, options.stopTimeoutMs ?? 60_000);
    // A canary instance that died holds leases until their ack deadline: wait that out before calling the subscription empty.
    const idleMs = clean ? 3000 : (consumer.ackDeadlineSeconds + 5) * 1000;
    if (!clean) options.log?.warn({ consumer: consumer.name, idleMs }, 'a canary instance did not report stopping; waiting out its leases before the move');
    const [exists] = await target.pubsub.subscription(names.canarySubscription).exists();
    const backlogMoved = exists ? await moveBacklog(target.pubsub, consumer, idleMs, options.onMoved) : 0;
    if (exists && options.deleteSubscription !== false)
      await target.pubsub
        .subscription(names.canarySubscription)
        .delete()
        .catch((error: { code?: number }) => {
          if (error.code !== 5) throw error; // NOT_FOUND: a concurrent end deleted it
        });
    const redriven = await redriveHeld(target.pubsub, consumer, { select: { sourceSubscriptions: [names.canarySubscription] } });
    const cleanup = { backlogMoved, deadLettersRedriven: redriven.length };
    await writeCanary(target.firestore, { ...control, cleanup: { at: new Date().toISOString(), ...cleanup } });
    options.log?.info({ consumer: consumer.name, canaryId: control.canaryId, ...cleanup }, 'canary ended: its messages are back on the stable side');
    return cleanup;
  } catch (error) {
    const failed = { at: new Date().toISOString(), backlogMoved: 0, deadLettersRedriven: 0, error: (error as Error).message };
    await writeCanary(target.firestore, { ...control, cleanup: failed }).catch(() => undefined);
    throw error;
  }
}

/**
 * Ends the running canary of `consumer` (abort or promote) and cleans up. An ended canary whose
 * cleanup failed is cleaned up again; none running is a UserError.
 */
export async function finishCanary(
  target: { pubsub: PubSub; firestore: Firestore },
  consumer: ConsumerSpec,
  state: 'aborted' | 'promoted',
  ended: NonNullable<CanaryControl['ended']>,
  options: CleanupOptions = {},
): Promise<{ control: CanaryControl; cleanup: CanaryCleanup }> {
  const current = await readCanary(target.firestore, consumer.name);
  let control: CanaryControl | undefined;
  if (current?.state === 'running') control = await endCanary(target.firestore, consumer.name, current.canaryId, state, ended);
  // An ended canary whose messages were not given back (its cleanup failed, or the stable side in GCP may not move them).
  else if (current && state === 'aborted' && (current.cleanup === undefined || current.cleanup.error !== undefined)) control = current;
  if (!control) throw new UserError(`${consumer.name} has no canary running`, { hint: `npm run mesh -- canary status ${consumer.name}` });
  return { control, cleanup: await cleanUpCanary(target, consumer, control, options) };
}

/** Locally: `<c>-canary` as the consumer's own subscription would be, filtered to the canary's buckets. */
async function createCanarySubscription(pubsub: PubSub, consumer: ConsumerSpec, filter: string): Promise<void> {
  const names = consumerResources(consumer);
  const projectId = (await pubsub.getClientConfig()).projectId;
  await pubsub.topic(consumer.topic).createSubscription(names.canarySubscription, {
    filter,
    ackDeadlineSeconds: consumer.ackDeadlineSeconds,
    enableMessageOrdering: consumer.ordering,
    enableExactlyOnceDelivery: consumer.exactlyOnce,
    deadLetterPolicy: { deadLetterTopic: `projects/${projectId}/topics/${names.deadLetterTopic}`, maxDeliveryAttempts: consumer.deadLetter.maxAttempts },
    // The emulator stops redelivering after a burst of failures when a retry policy is set (shared/local/apply.ts).
    ...(pubsub.isEmulator
      ? {}
      : {
          retryPolicy: {
            minimumBackoff: { seconds: consumer.retry.minBackoffSeconds },
            maximumBackoff: { seconds: consumer.retry.maxBackoffSeconds },
          },
        }),
    // A canary lasts hours, not the default 31 days of inactivity; its end deletes it anyway.
    expirationPolicy: {},
  });
}

/** GCP: the deployment made `<c>-canary` (infra/canaries.ts); a start of another share would split differently than it filters. */
async function assertDeployed(pubsub: PubSub, consumer: ConsumerSpec, share: number, exists: boolean): Promise<void> {
  const names = consumerResources(consumer);
  const deploy = `pulumi config set --path 'event-mesh:canaries.${consumer.name}.image' IMAGE && pulumi config set --path 'event-mesh:canaries.${consumer.name}.share' ${share}% && pulumi up`;
  if (!exists) throw new UserError(`${names.canarySubscription} is not deployed: a canary in GCP runs what the stack deploys`, { hint: deploy });
  const [metadata] = await pubsub.subscription(names.canarySubscription).getMetadata();
  if (metadata.filter !== canarySubscriptionFilter(consumer, share))
    throw new UserError(
      `${names.canarySubscription} is deployed for another share (its filter: ${metadata.filter || 'none'}); a subscription's filter cannot change`,
      {
        where: '--share',
        hint: `start it with the share in event-mesh:canaries.${consumer.name}, or redeploy: ${deploy}`,
      },
    );
}
