/**
 * What waits in one consumer's dead-letter hold, as the local health monitor sees it (the emulator
 * cannot say what a subscription holds): every dead letter the tap on its dead-letter topic showed,
 * less what left the hold since: one per redrive the redrive tap showed (by event id), and what a
 * purge announced (by hold message id, localTapNames.holdExitsTopic). What else leaves a hold (a
 * message pulled from it by hand, or expired after the hold's retention) the monitor cannot tell.
 */
import { deadLetterReasonOf, SCHEMA_FAILURE_REASONS } from '../consumer/dead-letter';
import type { HoldSummary } from './types';

export interface HeldEntry {
  /** When it was dead-lettered (its publish time on the dead-letter topic), ms. */
  at: number;
  reason: string;
  eventId?: string;
}

const HOUR_MS = 3_600_000;
/** Purged ids kept while waiting for the dead-letter tap to show them. */
const MAX_EARLY_EXITS = 100_000;

export class HoldLedger {
  /** Hold message id -> entry. */
  private readonly held = new Map<string, HeldEntry>();
  /**
   * Ids a purge announced before the dead-letter tap showed them (the taps are separate subscribers:
   * a monitor that starts on a backlog of both may read the notice first); dropped when they show.
   */
  private readonly exitedEarly = new Set<string>();
  /** Times of schema-failure dead letters within the last hour. */
  private schemaFailures: number[] = [];

  /** A message the dead-letter tap showed. */
  deadLettered(messageId: string, attributes: Readonly<Record<string, string>>, at: number): void {
    if (this.held.has(messageId)) return; // the tap handed it over again
    const reason = deadLetterReasonOf(attributes);
    if ((SCHEMA_FAILURE_REASONS as readonly string[]).includes(reason)) this.schemaFailures.push(at);
    if (this.exitedEarly.delete(messageId)) return;
    this.held.set(messageId, { at, reason, eventId: attributes['ce-id'] });
  }

  /** A held message sent back: the one with its event id, else (no id to match) the oldest. */
  redriven(eventId: string | undefined): void {
    let match: string | undefined;
    let oldest: [string, number] | undefined;
    for (const [id, entry] of this.held) {
      if (eventId && entry.eventId === eventId) {
        match = id;
        break;
      }
      if (!oldest || entry.at < oldest[1]) oldest = [id, entry.at];
    }
    const gone = match ?? oldest?.[0];
    if (gone) this.held.delete(gone);
  }

  /** Hold messages a purge took. */
  purged(messageIds: readonly string[]): void {
    for (const id of messageIds) if (!this.held.delete(id)) this.exitedEarly.add(id);
    for (const id of this.exitedEarly) {
      if (this.exitedEarly.size <= MAX_EARLY_EXITS) break;
      this.exitedEarly.delete(id);
    }
  }

  clear(): void {
    this.held.clear();
    this.exitedEarly.clear();
    this.schemaFailures = [];
  }

  get size(): number {
    return this.held.size;
  }

  summary(triageSlaSeconds: number, now: number): HoldSummary {
    let oldest = Infinity;
    const reasons = new Map<string, number>();
    for (const entry of this.held.values()) {
      if (entry.at < oldest) oldest = entry.at;
      reasons.set(entry.reason, (reasons.get(entry.reason) ?? 0) + 1);
    }
    this.schemaFailures = this.schemaFailures.filter((t) => t > now - HOUR_MS);
    const oldestSeconds = this.held.size ? Math.max(0, Math.round((now - oldest) / 1000)) : null;
    return {
      held: this.held.size,
      oldestSeconds,
      triageSlaSeconds,
      pastSla: oldestSeconds !== null && oldestSeconds > triageSlaSeconds,
      topReasons: [...reasons]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .slice(0, 3)
        .map(([reason, count]) => ({ reason, count })),
      schemaFailuresLastHour: this.schemaFailures.length,
    };
  }
}
