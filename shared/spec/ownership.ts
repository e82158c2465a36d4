/**
 * Who answers for what. Every topic (its producers, its schema) and every consumer (its alerts, its
 * dead letters) names an owner, and every owner says how to reach it: alerts are routed to the
 * owner's channels (infra), the runbooks name them. `loadSpec` refuses an owner that is not defined
 * when the spec defines any (a typo would route alerts nowhere); `mesh validate` requires all of it
 * (`ownershipIssues`), so a deployment never notifies nobody.
 */
import type { RuleIssue } from './rules';
import type { ConsumerSpec, MeshSpec } from './types';

/** The owner a consumer's alerts go to: its own. */
export const consumerOwner = (spec: Pick<MeshSpec, 'owners'>, consumer: Pick<ConsumerSpec, 'owner'>) =>
  consumer.owner ? spec.owners[consumer.owner] : undefined;

/** Owners named but not defined, when `owners` defines any (part of loadSpec's rules). */
export function undefinedOwners(spec: MeshSpec): RuleIssue[] {
  if (!Object.keys(spec.owners).length) return [];
  const defined = Object.keys(spec.owners).join(', ');
  const issues: RuleIssue[] = [];
  for (const t of Object.values(spec.topics))
    if (t.owner && !spec.owners[t.owner]) issues.push({ path: ['topics', t.name, 'owner'], message: `"${t.owner}" is not one of owners (${defined})` });
  for (const c of Object.values(spec.consumers))
    if (c.owner && !spec.owners[c.owner]) issues.push({ path: ['consumers', c.name, 'owner'], message: `"${c.owner}" is not one of owners (${defined})` });
  return issues;
}

/** What `mesh validate` requires besides loadSpec's rules: an owner on every topic and consumer, each defined with a channel. */
export function ownershipIssues(spec: MeshSpec): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const check = (path: string[], owner: string | undefined, what: string) => {
    if (!owner) issues.push({ path: [...path, 'owner'], message: `${what} has no owner: its alerts would reach nobody (name one of owners)` });
    else if (!spec.owners[owner])
      issues.push({ path: [...path, 'owner'], message: `owner "${owner}" is not defined under owners (with the channels that reach it)` });
  };
  for (const t of Object.values(spec.topics)) check(['topics', t.name], t.owner, `topic ${t.name}`);
  for (const c of Object.values(spec.consumers)) check(['consumers', c.name], c.owner, `consumer ${c.name}`);
  return issues;
}
