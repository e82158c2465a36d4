/**
 * Ordering keys on the consumer side: one message per key at a time (KeyedQueue), and the key's
 * order kept across our own retries (KeyOrder).
 *
 * When a message fails and is sent back, the ones of its key already here behind it are sent back
 * unprocessed (held) until it is back. GCP then redelivers the key in publish order. The emulator
 * does not: a message sent back goes behind the key's messages still waiting in it, so after
 * [1 done, 2 failed, 3 held, 4 held] it may hand out 2, then 4 before 3 (measured: 3 keys in 40).
 * So a key remembers the order it first saw its held messages in, and runs only the next of them;
 * a message out of turn is held again. On GCP the next one is always first and nothing is held twice.
 *
 *   2 fails      -> waitFor [2]        3, 4 arrive   -> held, waitFor [2, 3, 4]
 *   2 back, done -> waitFor [3, 4]     4 arrives     -> held again;  3 arrives -> runs ... -> key free
 *
 * A key waits at most `waitMs` past the time its next message was due back (it may have been
 * dead-lettered, or handed to another subscriber), then runs whatever comes.
 */

/** Runs tasks one at a time per key, in arrival order; keys run in parallel. */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  run(key: string, task: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task).catch(() => undefined);
    this.tails.set(key, next);
    void next.then(() => {
      if (this.tails.get(key) === next) this.tails.delete(key);
    });
    return next;
  }

  get size(): number {
    return this.tails.size;
  }
}

export interface KeyOrderOptions {
  /** How long past its due time a key waits for its next message before it runs whatever comes. */
  waitMs: number;
  /** Clock (tests). Default Date.now. */
  now?: () => number;
}

/** What to do with a delivered message: run it, or send it back unprocessed (`dueInMs`: when the key's next message is due back). */
export type KeyTurn = { run: true } | { run: false; dueInMs: number };

interface KeyWait {
  /** Message ids in the order the key must run them; the first is the one it waits for. */
  waitFor: string[];
  /** When waitFor[0] is due back. */
  dueAt: number;
}

/** Keeps each ordering key's order across retries. Not concurrent per key: use with KeyedQueue. */
export class KeyOrder {
  private readonly keys = new Map<string, KeyWait>();
  private readonly now: () => number;

  constructor(private readonly options: KeyOrderOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Keys waiting for a message now. */
  get waiting(): number {
    return this.keys.size;
  }

  /**
   * Whether `messageId` may run now. A message held back joins the key's order unless it will not
   * come back (`willReturn: false`, e.g. its last delivery attempt: Pub/Sub dead-letters it instead).
   */
  turn(key: string, messageId: string, willReturn = true): KeyTurn {
    const wait = this.current(key);
    if (!wait || wait.waitFor[0] === messageId) return { run: true };
    if (willReturn && !wait.waitFor.includes(messageId)) wait.waitFor.push(messageId);
    return { run: false, dueInMs: Math.max(0, wait.dueAt - this.now()) };
  }

  /**
   * After a message of the key ran: `retryInMs` when it failed and comes back after that long (the
   * key waits for it), undefined when it is finished (the key moves to its next held message).
   */
  ran(key: string, messageId: string, retryInMs?: number): void {
    const now = this.now();
    const wait = this.current(key);
    if (retryInMs !== undefined) {
      if (!wait) this.keys.set(key, { waitFor: [messageId], dueAt: now + retryInMs });
      else if (wait.waitFor[0] === messageId) wait.dueAt = now + retryInMs;
      return;
    }
    if (wait?.waitFor[0] !== messageId) return;
    wait.waitFor.shift();
    // The next one was sent back no later than its predecessor was due: it is due now.
    if (wait.waitFor.length) wait.dueAt = now;
    else this.keys.delete(key);
  }

  private current(key: string): KeyWait | undefined {
    const wait = this.keys.get(key);
    if (wait && this.now() > wait.dueAt + this.options.waitMs) {
      this.keys.delete(key);
      return undefined;
    }
    return wait;
  }
}
