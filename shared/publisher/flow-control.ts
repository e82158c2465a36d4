/**
 * Publisher flow control: at most maxMessages messages and maxBytes bytes handed to Pub/Sub and not
 * answered yet; the rest wait, first come first served (so one ordering key keeps its order).
 *
 * Written here rather than taken from the client: nodejs-pubsub's FlowControl counts a waiting
 * publish as outstanding before it is let through and releases a waiter only when the total,
 * waiters included, is under the limit, so concurrent publishes past the limit never get through
 * (300 publishes at once with a limit of 10: the 290 waited forever; its FlowControlledPublisher
 * expects one caller awaiting each publish in turn).
 */
export interface FlowLimits {
  maxMessages: number;
  maxBytes: number;
}

export class PublishFlow {
  private messages = 0;
  private bytes = 0;
  private readonly waiting: { bytes: number; admit: () => void }[] = [];

  constructor(private readonly limits: FlowLimits) {}

  get outstanding(): { messages: number; bytes: number } {
    return { messages: this.messages, bytes: this.bytes };
  }

  /** Whether a message of `bytes` would have to wait now. A message larger than maxBytes goes alone. */
  wouldWait(bytes: number): boolean {
    if (this.waiting.length) return true;
    if (this.messages === 0) return false;
    return this.messages + 1 > this.limits.maxMessages || this.bytes + bytes > this.limits.maxBytes;
  }

  /** Counts the message as outstanding and returns true if it may go now, without waiting (the usual case: no await on the hot path). */
  tryAcquire(bytes: number): boolean {
    if (this.wouldWait(bytes)) return false;
    this.admit(bytes);
    return true;
  }

  /** Resolves when the message may go; it then counts as outstanding until release(). */
  async acquire(bytes: number): Promise<void> {
    if (this.tryAcquire(bytes)) return;
    await new Promise<void>((admit) => this.waiting.push({ bytes, admit }));
  }

  release(bytes: number): void {
    this.messages = Math.max(0, this.messages - 1);
    this.bytes = Math.max(0, this.bytes - bytes);
    // Let in, in order, every waiter that now fits.
    while (this.waiting.length) {
      const next = this.waiting[0];
      if (this.messages > 0 && (this.messages + 1 > this.limits.maxMessages || this.bytes + next.bytes > this.limits.maxBytes)) break;
      this.waiting.shift();
      this.admit(next.bytes);
      next.admit();
    }
  }

  private admit(bytes: number): void {
    this.messages++;
    this.bytes += bytes;
  }
}
