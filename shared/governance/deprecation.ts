/**
 * Additive first, remove only after a deprecation window: a field leaves a topic's schema only if an
 * earlier revision marked it `"deprecated": true` (an Avro attribute readers ignore) and the revision
 * that removes it was accepted at least `deprecationWindow` after the one that deprecated it. The
 * days come from the revision lock; a revision not accepted yet is judged as if accepted `today`.
 */
import type { TopicSpec } from '../spec/types';
import { isoDay, type GovernanceIssue } from './issues';
import type { RevisionLock } from './lock';

export interface RawRevision {
  name: string;
  /** The .avsc text. */
  definition: string;
}

interface FieldInfo {
  deprecated: boolean;
}

/** Dotted field paths of a record schema (nested records included) and whether each is deprecated. */
export function fieldsOf(definition: string): Map<string, FieldInfo> {
  const out = new Map<string, FieldInfo>();
  const walk = (schema: unknown, at: string[]) => {
    if (!schema || typeof schema !== 'object') return;
    const record = schema as { type?: unknown; fields?: { name: string; type: unknown; deprecated?: unknown }[] };
    if (record.type !== 'record' || !Array.isArray(record.fields)) return;
    for (const f of record.fields) {
      const path = [...at, f.name];
      out.set(path.join('.'), { deprecated: f.deprecated === true });
      walk(f.type, path);
    }
  };
  walk(JSON.parse(definition), []);
  return out;
}

const DAY_MS = 86_400_000;

export function deprecationIssues(
  topic: Pick<TopicSpec, 'name' | 'schema'>,
  revisions: RawRevision[],
  lock: RevisionLock,
  today: Date = new Date(),
): GovernanceIssue[] {
  const issues: GovernanceIssue[] = [];
  const windowDays = Math.ceil(topic.schema.deprecationWindowSeconds / 86400);
  const fields = revisions.map((r) => fieldsOf(r.definition));
  const dayOf = (name: string) => lock[name]?.accepted ?? isoDay(today);
  for (let i = 1; i < revisions.length; i++) {
    const newer = revisions[i];
    for (const [field] of fields[i - 1]) {
      if (fields[i].has(field)) continue;
      // The run of revisions just before the removal that mark it deprecated; the window starts at its first.
      let first = -1;
      for (let k = i - 1; k >= 0 && fields[k].get(field)?.deprecated; k--) first = k;
      if (first < 0) {
        issues.push({
          rule: 'remove-after-deprecation',
          topic: topic.name,
          revision: newer.name,
          field,
          message: `is removed but ${revisions[i - 1].name} does not mark it deprecated: keep it, add "deprecated": true in a new revision, and remove it in a revision accepted ${windowDays} days after that one`,
        });
        continue;
      }
      const deprecatedOn = dayOf(revisions[first].name);
      const allowedFrom = isoDay(new Date(Date.parse(`${deprecatedOn}T00:00:00Z`) + windowDays * DAY_MS));
      const removedOn = dayOf(newer.name);
      if (removedOn < allowedFrom) {
        issues.push({
          rule: 'deprecation-window',
          topic: topic.name,
          revision: newer.name,
          field,
          message: `is removed too early: deprecated in ${revisions[first].name} (accepted ${deprecatedOn}) with a ${windowDays}-day window, so its removal is allowed in a revision accepted from ${allowedFrom} (this one: ${removedOn}${lock[newer.name] ? '' : ', not accepted yet'})`,
        });
      }
    }
  }
  return issues;
}
