/**
 * The canary of a consumer, as every part of the mesh reads it: one Firestore document per consumer
 * that ever had a canary, and one report per instance beside it.
 *
 *   consumerCanaries/<consumer>                  {consumer, canaryId, state, share, since, build, policy, owner, intent, ...}
 *   consumerCanaries/<consumer>/sides/<instance> {canaryId, side, instance, counts, latency, updatedAt, stopped}
 *
 * While `state` is `running`:
 * - the stable instances ack without effect what is the canary's (routing.ts `sideOf`) and was
 *   published at or after `since`, because the canary subscription holds it too (filtered in GCP);
 * - the canary instance handles exactly that and acks the rest without effect;
 * so each message published after `since` has one side, and one before it stays the stable side's
 * (the canary subscription did not exist yet). Any other state and the stable side takes everything.
 */
import type { DocumentSnapshot, Firestore } from '@google-cloud/firestore';
import { docId } from '../firestore/ids';
import { RetryingListeners } from '../firestore/listen';
import type { Accountable } from '../operations/audit';
import type { CanaryPolicy } from '../spec/types';
import type { CanarySide } from './routing';
import type { SideCounts } from './side-stats';

export const CANARIES_COLLECTION = 'consumerCanaries';
export const SIDES_COLLECTION = 'sides';

export type CanaryState = 'running' | 'promoted' | 'aborted';

export interface CanaryControl extends Accountable {
  consumer: string;
  /** The operation id of the start: names this canary in every report and audit row. */
  canaryId: string;
  state: CanaryState;
  /** Percent of the buckets (0..share-1) the canary takes. */
  share: number;
  /** ISO time from which the split holds (the canary subscription existed before it). */
  since: string;
  /** What runs as the canary: a local entry file, or an image. */
  build: string;
  policy: CanaryPolicy;
  /** Locally: the canary instance's process id and port. */
  local?: { pid: number; port: number; logFile: string };
  /** When it ended, how and why (`threshold` when the judge aborted it). */
  ended?: { at: string; by: string; reason: string; verdict?: Record<string, unknown> };
  /** What ending it moved back to the stable side (the canary subscription's backlog, its dead letters). */
  cleanup?: { at: string; backlogMoved: number; deadLettersRedriven: number; error?: string };
}

export const canaryPath = (consumer: string) => `${CANARIES_COLLECTION}/${docId(consumer, 'consumer')}`;

function canaryOf(snap: DocumentSnapshot): CanaryControl | undefined {
  return snap.exists ? (snap.data() as CanaryControl) : undefined;
}

export async function readCanary(db: Firestore, consumer: string): Promise<CanaryControl | undefined> {
  return canaryOf(await db.doc(canaryPath(consumer)).get());
}

export async function writeCanary(db: Firestore, control: CanaryControl): Promise<void> {
  await db.doc(canaryPath(control.consumer)).set(JSON.parse(JSON.stringify(control)));
}

/**
 * Ends a running canary once: a transaction, so the judge of several stable instances and an
 * operator's `mesh canary abort` cannot both end it. Resolves the ended control, or undefined when
 * `canaryId` is no longer the running one (someone else ended it first).
 */
export async function endCanary(
  db: Firestore,
  consumer: string,
  canaryId: string,
  state: Exclude<CanaryState, 'running'>,
  ended: NonNullable<CanaryControl['ended']>,
): Promise<CanaryControl | undefined> {
  const ref = db.doc(canaryPath(consumer));
  return db.runTransaction(async (tx) => {
    const current = canaryOf(await tx.get(ref));
    if (current?.state !== 'running' || current.canaryId !== canaryId) return undefined;
    const next: CanaryControl = { ...current, state, ended };
    tx.set(ref, JSON.parse(JSON.stringify(next)));
    return next;
  });
}

/** What one instance reports of its side of a canary, every few seconds (side-stats.ts). */
export interface SideReport {
  canaryId: string;
  side: CanarySide;
  instance: string;
  counts: SideCounts;
  /** Handling times, LatencyHistogram.toJSON(). */
  latency: number[];
  updatedAt: string;
  /** The instance stopped delivering for this canary (it ended, or the process stopped). */
  stopped: boolean;
}

const sidesOf = (db: Firestore, consumer: string) => db.doc(canaryPath(consumer)).collection(SIDES_COLLECTION);

export async function writeSideReport(db: Firestore, consumer: string, report: SideReport): Promise<void> {
  await sidesOf(db, consumer).doc(docId(report.instance, 'instance')).set(report);
}

/** Every instance's report of one canary. */
export async function readSideReports(db: Firestore, consumer: string, canaryId: string): Promise<SideReport[]> {
  const snap = await sidesOf(db, consumer).where('canaryId', '==', canaryId).get();
  return snap.docs.map((d) => d.data() as SideReport);
}

export interface CanaryWatcherOptions {
  db: Firestore;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** After a listener error, listen again after this long. Default 5000 ms. */
  retryMs?: number;
}

/**
 * Tells the runtime each consumer's canary as it changes (a Firestore listener: a start or an abort
 * lands in about a second). Until the first answer, or while Firestore cannot be read, the last known
 * control stays: a stable side that could not read the control goes on splitting as it did.
 */
export class CanaryWatcher {
  private readonly listeners: RetryingListeners;

  constructor(private readonly options: CanaryWatcherOptions) {
    this.listeners = new RetryingListeners(options.db, options.retryMs ?? 5000);
  }

  watch(consumer: string, onChange: (control: CanaryControl | undefined) => void): void {
    this.listeners.follow(
      canaryPath(consumer),
      (snap) => onChange(canaryOf(snap)),
      (error, retryInMs) => this.options.log.warn({ err: error, consumer, retryInMs }, 'cannot read the consumer canary; the split stays as it was'),
    );
  }

  close(): void {
    this.listeners.close();
  }
}
