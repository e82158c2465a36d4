/**
 * Consumer controls: whether a consumer is paused, who paused it and why. One Firestore document per
 * consumer that something paused once, read by everything that delivers to the consumer:
 *
 *   consumerControls/<consumer>   {consumer, paused, since, owner, intent, operator, operationId, pushConfigs?}
 *
 * - pull consumers: the service's pull subscribers stop pulling while it says paused (ControlWatcher,
 *   a Firestore listener, so a pause lands in about a second without polling); what they had pulled
 *   finishes and is acked, the rest waits in the subscription;
 * - push consumers in GCP: `mesh pause` turns the push subscription into a pull subscription nobody
 *   pulls ("An empty pushConfig indicates that the Pub/Sub system should stop pushing messages from
 *   the given subscription and allow messages to be pulled and acknowledged",
 *   https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.subscriptions/modifyPushConfig),
 *   and keeps the push config it had here so `mesh resume` restores it; infra reads the paused set at
 *   `pulumi up` and leaves a paused push subscription without its push config, so a deployment never
 *   resumes a consumer silently (infra/paused.ts);
 * - push consumers locally: the push relay (shared/local/push-relay.ts) stops pulling, as a pull
 *   consumer does.
 * Messages are never nacked or failed because of a pause, so no delivery attempt is spent and nothing
 * is dead-lettered; they wait up to the subscription's retention (the buffer policy: `mesh status`
 * warns at 80 % of it).
 */
import type { DocumentSnapshot, Firestore } from '@google-cloud/firestore';
import { docId } from '../firestore/ids';
import { RetryingListeners } from '../firestore/listen';
import type { Accountable } from './audit';

export const CONTROLS_COLLECTION = 'consumerControls';

export const controlPath = (consumer: string) => `${CONTROLS_COLLECTION}/${docId(consumer, 'consumer')}`;

/** A push subscription's config as Pub/Sub returns it (kept while paused, restored on resume). */
export interface SavedPushConfig {
  pushEndpoint: string;
  oidcToken?: { serviceAccountEmail: string; audience: string };
  attributes?: Record<string, string>;
  noWrapper?: { writeMetadata?: boolean };
}

export interface ConsumerControl extends Accountable {
  consumer: string;
  paused: boolean;
  /** ISO time of the last pause or resume. */
  since: string;
  operationId: string;
  /** Push consumers in GCP: subscription id -> the push config it had when paused (its own and its redrive one). */
  pushConfigs?: Record<string, SavedPushConfig>;
}

function controlOf(snap: DocumentSnapshot): ConsumerControl | undefined {
  if (!snap.exists) return undefined;
  const data = snap.data() as ConsumerControl;
  return { ...data, paused: data.paused === true };
}

export async function readControl(db: Firestore, consumer: string): Promise<ConsumerControl | undefined> {
  return controlOf(await db.doc(controlPath(consumer)).get());
}

/** Every consumer that is paused now (name -> its control). */
export async function readPaused(db: Firestore): Promise<Record<string, ConsumerControl>> {
  const snap = await db.collection(CONTROLS_COLLECTION).where('paused', '==', true).get();
  return Object.fromEntries(snap.docs.map((d) => controlOf(d)!).map((c) => [c.consumer, c]));
}

/** Records a pause or a resume (the whole document: who, why, when, and the push config to restore). */
export async function writeControl(db: Firestore, control: ConsumerControl): Promise<void> {
  const { pushConfigs, ...rest } = control;
  await db.doc(controlPath(control.consumer)).set({ ...rest, ...(pushConfigs ? { pushConfigs } : {}) });
}

export interface ControlWatcherOptions {
  db: Firestore;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** After a listener error, listen again after this long. Default 5000 ms. */
  retryMs?: number;
}

/**
 * Tells a consumer's deliverers when it is paused or resumed. Until the first answer (or when
 * Firestore cannot be read) a consumer counts as not paused: a broken control store must not stop
 * the mesh; the error is logged and the listener retried.
 */
export class ControlWatcher {
  private readonly listeners: RetryingListeners;

  constructor(private readonly options: ControlWatcherOptions) {
    this.listeners = new RetryingListeners(options.db, options.retryMs ?? 5000);
  }

  /** Calls onChange(paused) at the first reading and at every change; returns nothing, close() ends all. */
  watch(consumer: string, onChange: (paused: boolean, control?: ConsumerControl) => void): void {
    let last: boolean | undefined;
    this.listeners.follow(
      controlPath(consumer),
      (snap) => {
        const control = controlOf(snap);
        const paused = control?.paused ?? false;
        if (paused === last) return;
        last = paused;
        this.options.log.info({ consumer, paused, by: control?.owner, intent: control?.intent }, paused ? 'consumer paused' : 'consumer delivering');
        onChange(paused, control);
      },
      (error, retryInMs) => this.options.log.warn({ err: error, consumer, retryInMs }, 'cannot read the consumer control; delivery goes on as it was'),
    );
  }

  close(): void {
    this.listeners.close();
  }
}
