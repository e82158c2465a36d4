/**
 * `mesh schema accept` and `mesh schema approve`: the two commands that write the schema records
 * kept in the repo (shared/governance lock.ts and approvals.ts). Both refuse rather than write a
 * record the checks would then contradict.
 */
import {
  isoDay,
  needsApproval,
  readApprovals,
  readLock,
  revisionHash,
  revisionNumber,
  schemaGovernanceIssues,
  writeApprovals,
  writeLock,
  type EventCheckFor,
  type GovernanceIssue,
} from '../../shared/governance';
import { topicSchemas } from '../../shared/schemas';
import { UserError } from '../../shared/errors';
import type { MeshSpec } from '../../shared/spec';

function revisionOf(spec: MeshSpec, topicName: string, revision: string) {
  const topic = spec.topics[topicName];
  if (!topic) throw new UserError(`unknown topic "${topicName}" (topics: ${Object.keys(spec.topics).join(', ')})`);
  const found = topicSchemas(spec, topicName).revisions.find((r) => r.name === revision);
  if (!found)
    throw new UserError(`topic ${topicName} lists no revision ${revision} (revisions: ${topic.schema.revisions.join(', ')}); add its .avsc and list it first`);
  return { topic, definition: found.definition };
}

export interface AcceptResult {
  accepted: boolean;
  day: string;
  /** What stands in the way (accepted is false). */
  issues: GovernanceIssue[];
}

/** Locks a revision once every other gate of its topic passes for it. */
export function acceptRevision(spec: MeshSpec, topicName: string, revision: string, options: { today?: Date; checkFor?: EventCheckFor } = {}): AcceptResult {
  const { topic, definition } = revisionOf(spec, topicName, revision);
  const lock = readLock(topic);
  const day = isoDay(options.today ?? new Date());
  const entry = lock[revision];
  if (entry && entry.sha256 === revisionHash(definition)) return { accepted: true, day: entry.accepted, issues: [] };
  if (entry)
    throw new UserError(
      `${topicName} ${revision} was accepted on ${entry.accepted} and has been edited since: a released revision cannot change; restore it and add a new revision`,
    );
  // What concerns this revision and the older ones (accepted in order); a newer revision's issues are its own.
  const issues = schemaGovernanceIssues(spec, { ...options, topics: [topicName] }).filter(
    (i) => (!i.revision || revisionNumber(i.revision) <= revisionNumber(revision)) && !(i.rule === 'revision-lock' && i.revision === revision),
  );
  if (issues.length) return { accepted: false, day, issues };
  writeLock(topic, { ...lock, [revision]: { sha256: revisionHash(definition), accepted: day } });
  return { accepted: true, day, issues: [] };
}

/** Records an approval by one of the topic's approvers of the revision as it is now. */
export function approveRevision(spec: MeshSpec, topicName: string, revision: string, by: string, today = new Date()): void {
  const { topic, definition } = revisionOf(spec, topicName, revision);
  if (!topic.approval) throw new UserError(`topic ${topicName} does not require approvals (no approval in the spec)`);
  if (!needsApproval(topic, revision)) throw new UserError(`${topicName} ${revision} needs no approval: approvals start at ${topic.approval.from}`);
  if (!topic.approval.approvers.includes(by))
    throw new UserError(`${by} is not an approver of ${topicName} (approvers: ${topic.approval.approvers.join(', ')})`);
  const records = readApprovals(topic).filter((r) => !(r.revision === revision && r.by === by));
  writeApprovals(topic, [...records, { revision, by, date: isoDay(today), sha256: revisionHash(definition) }]);
}
