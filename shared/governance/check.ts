/**
 * Every schema gate of a spec at once: what `mesh schema check` prints and CI runs, and what
 * `mesh plan` and the policy pack refuse to deploy with. Compatibility with the topic's mode is
 * checked when the spec loads (a spec that breaks it does not load at all); the rest is here.
 */
import { topicSchemas } from '../schemas';
import type { MeshSpec } from '../spec/types';
import { approvalIssues, readApprovals } from './approvals';
import { deprecationIssues } from './deprecation';
import type { GovernanceIssue } from './issues';
import { lockIssues, readLock } from './lock';
import { readinessIssues, type EventCheckFor } from './readiness';

export interface GovernanceCheckOptions {
  /** The day a revision not accepted yet is judged on (deprecation window); default now. */
  today?: Date;
  /** Services' own event checks for readiness; without them only the decoder runs. */
  checkFor?: EventCheckFor;
  /** Only these topics. */
  topics?: string[];
}

export function schemaGovernanceIssues(spec: MeshSpec, options: GovernanceCheckOptions = {}): GovernanceIssue[] {
  const issues: GovernanceIssue[] = [];
  for (const topic of Object.values(spec.topics)) {
    if (options.topics && !options.topics.includes(topic.name)) continue;
    const revisions = topicSchemas(spec, topic.name).revisions;
    const lock = readLock(topic);
    issues.push(...lockIssues(topic, revisions, lock));
    issues.push(...deprecationIssues(topic, revisions, lock, options.today));
    issues.push(...approvalIssues(topic, revisions, readApprovals(topic)));
    issues.push(...readinessIssues(spec, topic.name, options.checkFor));
  }
  return issues;
}
