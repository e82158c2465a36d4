/**
 * Approvals of high-impact topics: `<schema dir>/approvals.json` lists who approved which revision,
 * when, and the sha256 of the revision they saw. A revision numbered at or after the topic's
 * `approval.from` needs a record by one of the topic's approvers with its current hash, so an edit
 * made after the approval is caught. `mesh schema approve` appends records.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TopicSpec } from '../spec/types';
import type { GovernanceIssue } from './issues';
import { revisionHash, revisionNumber } from './lock';

export const APPROVALS_FILE = 'approvals.json';

export interface ApprovalRecord {
  revision: string;
  by: string;
  /** YYYY-MM-DD (UTC). */
  date: string;
  sha256: string;
}

export function approvalsPath(topic: Pick<TopicSpec, 'schema'>): string {
  return path.join(topic.schema.dir, APPROVALS_FILE);
}

export function readApprovals(topic: Pick<TopicSpec, 'schema'>): ApprovalRecord[] {
  const file = approvalsPath(topic);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as ApprovalRecord[]) : [];
}

export function writeApprovals(topic: Pick<TopicSpec, 'schema'>, records: ApprovalRecord[]): void {
  fs.writeFileSync(approvalsPath(topic), `${JSON.stringify(records, null, 2)}\n`);
}

/** Whether `revision` of the topic needs an approval at all. */
export function needsApproval(topic: Pick<TopicSpec, 'approval'>, revision: string): boolean {
  return !!topic.approval && revisionNumber(revision) >= revisionNumber(topic.approval.from);
}

export function approvalIssues(
  topic: Pick<TopicSpec, 'name' | 'approval'>,
  revisions: { name: string; definition: string }[],
  records: ApprovalRecord[],
): GovernanceIssue[] {
  if (!topic.approval) return [];
  const approvers = topic.approval.approvers;
  const issues: GovernanceIssue[] = [];
  for (const { name, definition } of revisions) {
    if (!needsApproval(topic, name)) continue;
    const hash = revisionHash(definition);
    const mine = records.filter((r) => r.revision === name && approvers.includes(r.by));
    if (mine.some((r) => r.sha256 === hash)) continue;
    const stale = mine[mine.length - 1];
    issues.push({
      rule: 'approval',
      topic: topic.name,
      revision: name,
      message: stale
        ? `changed after ${stale.by} approved it on ${stale.date}: it needs a new approval (\`mesh schema approve ${topic.name} ${name} --by NAME\`)`
        : `needs an approval by one of ${approvers.join(', ')}: \`mesh schema approve ${topic.name} ${name} --by NAME\``,
    });
  }
  return issues;
}
