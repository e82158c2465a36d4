/**
 * What the schema gates report: one issue per broken rule, naming the topic, revision and field, so a
 * CI log line says what to change. `mesh schema check` prints them; the policy pack and `mesh plan`
 * refuse a deployment while any is open.
 */
export type GovernanceRule =
  /** A revision file that is missing or is not a usable Avro schema. */
  | 'definition'
  /** The topic's compatibility mode (BACKWARD, FORWARD, FULL, transitive forms). */
  | 'compatibility'
  /** A field removed without having been marked deprecated first. */
  | 'remove-after-deprecation'
  /** A deprecated field removed before the topic's deprecation window passed. */
  | 'deprecation-window'
  /** An accepted revision edited in place, or a revision not accepted yet. */
  | 'revision-lock'
  /** A revision of a topic that requires approval, without a matching approval record. */
  | 'approval'
  /** A revision the topic accepts that one of its consumers is not ready to read. */
  | 'readiness';

export interface GovernanceIssue {
  rule: GovernanceRule;
  topic: string;
  revision?: string;
  field?: string;
  message: string;
}

export function formatGovernanceIssue(issue: GovernanceIssue): string {
  const where = [issue.topic, issue.revision, issue.field && `field "${issue.field}"`].filter(Boolean).join(' ');
  return `${where}: ${issue.message} [rule ${issue.rule}]`;
}

/** YYYY-MM-DD of a date, in UTC: how the lock and approval records write days. */
export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}
