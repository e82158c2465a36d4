/**
 * Opening a pull subscription with no more permission than `roles/pubsub.subscriber` grants, and
 * waiting (not exiting) while Pub/Sub refuses it.
 *
 * `roles/pubsub.subscriber` holds `pubsub.subscriptions.consume` and `pubsub.topics.attachSubscription`,
 * not `pubsub.subscriptions.get` (https://cloud.google.com/iam/docs/roles-permissions/pubsub), so the
 * runtime never reads a subscription's metadata: the first Pull / StreamingPull is the check. When
 * Pub/Sub refuses it with
 *
 *   PERMISSION_DENIED  the grant is missing, or not there yet: IAM changes typically take 2 minutes,
 *                      potentially 7 or more (https://cloud.google.com/iam/docs/access-change-propagation)
 *   NOT_FOUND          the subscription does not exist (yet): it may be created after the revision starts
 *   UNAVAILABLE        Pub/Sub or the network is briefly unreachable
 *
 * the transport waits (capped exponential backoff) and tries again, /readyz answers 503 with reason(),
 * and each refusal is one WARNING line naming the subscription, the code and the role needed. Any
 * other error is the transport's own business (it was before). An invalid subscription name can never
 * succeed and fails at start instead (assertSubscriptionName).
 *
 * Readiness trusts a subscription until Pub/Sub refuses it, and once refused distrusts it until an
 * attempt is accepted. Pub/Sub has no "you may pull" answer short of a message: an attempt counts as
 * accepted when a message arrives, a Pull returns, or a Pull / stream is held `acceptedAfterMs` without
 * a refusal (GCP and the emulator refuse at once; they hold an accepted Pull open while there is
 * nothing to send).
 */
import { ConsumerConfigError } from './errors';
import type { Logger } from './logger';

export interface OpenRetryOptions {
  /** Wait after the first refusal. Default 1000 ms. */
  initialDelayMs?: number;
  /** Longest wait between attempts. Default 30 000 ms (a grant that lands is used within 30 s). */
  maxDelayMs?: number;
  /** Each wait is the previous one times this. Default 2. */
  multiplier?: number;
  /** An attempt Pub/Sub holds this long without refusing counts as accepted. Default 1000 ms. */
  acceptedAfterMs?: number;
}

export const DEFAULT_OPEN_RETRY: Required<OpenRetryOptions> = { initialDelayMs: 1000, maxDelayMs: 30_000, multiplier: 2, acceptedAfterMs: 1000 };

/** gRPC status codes that are waited out, by name. */
const WAITED_OUT: Record<number, RefusalCode> = { 5: 'NOT_FOUND', 7: 'PERMISSION_DENIED', 14: 'UNAVAILABLE' };
export type RefusalCode = 'NOT_FOUND' | 'PERMISSION_DENIED' | 'UNAVAILABLE';

/** What a pull consumer needs on its subscription (and all it gets in GCP). */
export const SUBSCRIBER_ROLE = 'roles/pubsub.subscriber';

/** The code of an error that is waited out, else undefined. */
export function refusalCode(error: unknown): RefusalCode | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? WAITED_OUT[code] : undefined;
}

/**
 * Pub/Sub's subscription id rules (https://cloud.google.com/pubsub/docs/pubsub-basics#resource_names):
 * starts with a letter; letters, digits, - _ . ~ + %; 3 to 255 characters; not starting with "goog".
 * Accepts an id or a full projects/<p>/subscriptions/<id> path.
 */
export function assertSubscriptionName(name: string, consumer: string): void {
  const id = /^projects\/[^/]+\/subscriptions\/([^/]*)$/.exec(name)?.[1] ?? name;
  if (!/^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/.test(id) || /^goog/i.test(id)) {
    throw new ConsumerConfigError(
      `consumer ${consumer}: "${name}" is not a valid Pub/Sub subscription name (a letter first, then letters, digits, - _ . ~ + %; 3-255 characters; not starting with "goog")`,
    );
  }
}

export interface SubscriptionAccessOptions {
  consumer: string;
  /** Subscription id or path, for messages. */
  subscription: string;
  log: Logger;
  /** On the emulator a missing subscription means `mesh apply` has not run: say so. */
  emulator?: boolean;
  retry?: OpenRetryOptions;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

/** One subscription's open state: accepted, refused (and when to try again), or not known yet. */
export class SubscriptionAccess {
  private readonly retry: Required<OpenRetryOptions>;
  private readonly now: () => number;
  private state: 'opening' | 'open' | 'waiting' = 'opening';
  private nextDelayMs: number;
  private refusals = 0;
  private lastCode?: RefusalCode;
  private retryAt = 0;
  private acceptTimer?: NodeJS.Timeout;

  constructor(private readonly options: SubscriptionAccessOptions) {
    this.retry = { ...DEFAULT_OPEN_RETRY, ...options.retry };
    this.now = options.now ?? Date.now;
    this.nextDelayMs = this.retry.initialDelayMs;
  }

  /** Pub/Sub has accepted an attempt since the last refusal. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Pub/Sub refused the last attempt and none has been accepted since: not ready. */
  get waiting(): boolean {
    return this.state === 'waiting';
  }

  /** An attempt starts (a Pull sent, a stream opened): unless refused first, it is accepted after acceptedAfterMs. */
  attempting(): void {
    if (this.state === 'open') return;
    clearTimeout(this.acceptTimer);
    this.acceptTimer = setTimeout(() => this.opened(), this.retry.acceptedAfterMs);
    this.acceptTimer.unref();
  }

  /** Pub/Sub answered (a message, a Pull's reply) or held the attempt: the subscription is open. */
  opened(): void {
    clearTimeout(this.acceptTimer);
    this.acceptTimer = undefined;
    if (this.state === 'open') return;
    if (this.refusals)
      this.options.log.info(
        { subscription: this.options.subscription, after: this.lastCode, refusals: this.refusals },
        `pull subscription ${this.options.subscription} is open`,
      );
    this.state = 'open';
    this.refusals = 0;
    this.lastCode = undefined;
    this.nextDelayMs = this.retry.initialDelayMs;
  }

  /**
   * The attempt failed. For PERMISSION_DENIED / NOT_FOUND / UNAVAILABLE: logs it, and returns how long
   * to wait before the next attempt. For any other error: undefined (the caller's own handling).
   */
  refused(error: unknown): number | undefined {
    const code = refusalCode(error);
    if (!code) return undefined;
    clearTimeout(this.acceptTimer);
    this.acceptTimer = undefined;
    const delayMs = this.nextDelayMs;
    this.nextDelayMs = Math.min(Math.round(delayMs * this.retry.multiplier), this.retry.maxDelayMs);
    this.state = 'waiting';
    this.refusals++;
    this.lastCode = code;
    this.retryAt = this.now() + delayMs;
    const { consumer, subscription, log } = this.options;
    log.warn(
      { consumer, subscription, code, roleNeeded: SUBSCRIBER_ROLE, attempt: this.refusals, retryInMs: delayMs, error: (error as Error)?.message },
      `pull subscription ${subscription} refused (${code}): ${this.advice(code)}; retrying in ${seconds(delayMs)}`,
    );
    return delayMs;
  }

  /** Why Pub/Sub refuses the subscription, for /readyz; undefined unless waiting. */
  reason(): string | undefined {
    const { consumer, subscription } = this.options;
    if (this.state !== 'waiting' || !this.lastCode) return undefined;
    const retry = `retry in ${seconds(Math.max(0, this.retryAt - this.now()))}`;
    if (this.lastCode === 'PERMISSION_DENIED')
      return `${consumer}: waiting for permission on subscription ${subscription} (PERMISSION_DENIED: needs ${SUBSCRIBER_ROLE}), ${retry}`;
    if (this.lastCode === 'NOT_FOUND')
      return `${consumer}: waiting for subscription ${subscription} to exist (NOT_FOUND${this.options.emulator ? ': run `mesh apply --local` first?' : ''}), ${retry}`;
    return `${consumer}: Pub/Sub unavailable for subscription ${subscription} (UNAVAILABLE), ${retry}`;
  }

  /** Stops the acceptance timer (shutdown). */
  close(): void {
    clearTimeout(this.acceptTimer);
    this.acceptTimer = undefined;
  }

  private advice(code: RefusalCode): string {
    if (code === 'PERMISSION_DENIED') return `the service account needs ${SUBSCRIBER_ROLE} on it (IAM grants take minutes to propagate)`;
    if (code === 'NOT_FOUND')
      return this.options.emulator
        ? 'it does not exist on the emulator: run `mesh apply --local` first?'
        : 'it does not exist (yet): is the infrastructure deployed?';
    return 'Pub/Sub is unreachable';
  }
}

function seconds(ms: number): string {
  return `${Math.ceil(ms / 1000)}s`;
}
