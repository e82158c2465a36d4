/**
 * Dead-letter triage as a table: what waits in the holds, grouped by consumer, owner and reason,
 * with the oldest of each group against the consumer's triage SLA (`deadLetter.triageSla`), so the
 * person on call sees first what is past its SLA and whose it is. Pure: `mesh dead-letters` lists
 * the holds (shared/consumer/dead-letter-hold.ts) and prints this.
 */
import type { HeldMessage } from '../consumer/dead-letter-hold';
import { UserError } from '../errors';
import { parseDuration } from '../spec/duration';
import { triageSlaSeconds } from '../spec/names';
import type { MeshSpec } from '../spec/types';

export interface TriageGroup {
  consumer: string;
  /** The consumer's owner in the spec (`owner`), else its topic's. */
  owner?: string;
  reason: string;
  count: number;
  /** When the oldest of the group was dead-lettered. */
  oldestAt: string;
  oldestSeconds: number;
  triageSlaSeconds: number;
  /** The oldest waited longer than the SLA: its owner is being paged (GCP: `<c>-triage-sla`). */
  pastSla: boolean;
}

/** Groups past their SLA first, then the oldest first. */
export function triageGroups(spec: MeshSpec, held: Record<string, readonly HeldMessage[]>, now = Date.now()): TriageGroup[] {
  const groups = new Map<string, TriageGroup>();
  for (const [name, messages] of Object.entries(held)) {
    const consumer = spec.consumers[name];
    const sla = triageSlaSeconds(consumer);
    for (const m of messages) {
      const key = `${name}\u0000${m.reason}`;
      const at = Date.parse(m.deadLetteredAt);
      const group = groups.get(key);
      if (!group) {
        const owner = consumer.owner ?? spec.topics[consumer.topic]?.owner;
        groups.set(key, {
          consumer: name,
          owner,
          reason: m.reason,
          count: 1,
          oldestAt: m.deadLetteredAt,
          oldestSeconds: 0,
          triageSlaSeconds: sla,
          pastSla: false,
        });
      } else {
        group.count++;
        if (at < Date.parse(group.oldestAt)) group.oldestAt = m.deadLetteredAt;
      }
    }
  }
  for (const g of groups.values()) {
    g.oldestSeconds = Math.max(0, Math.round((now - Date.parse(g.oldestAt)) / 1000));
    g.pastSla = g.oldestSeconds > g.triageSlaSeconds;
  }
  return [...groups.values()].sort(
    (a, b) => Number(b.pastSla) - Number(a.pastSla) || b.oldestSeconds - a.oldestSeconds || a.consumer.localeCompare(b.consumer),
  );
}

/**
 * `--since` / `--until`: an RFC 3339 time, or a duration back from now (`90m`, `2h`, `1d`). Refused
 * when it is neither: a selection that silently meant "everything" would redrive or purge too much.
 */
export function parseWhen(text: string, option: string, now = Date.now()): Date {
  const trimmed = text.trim();
  if (/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(trimmed)) return new Date(now - parseDuration(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (!/^\d{4}-\d{2}-\d{2}/.test(trimmed) || !Number.isFinite(at))
    throw new UserError(`${option} "${text}" is neither an RFC 3339 time nor a duration back from now`, {
      where: option,
      hint: `e.g. ${option} 2h or ${option} 2026-12-05T04:10:00Z`,
    });
  return new Date(at);
}
