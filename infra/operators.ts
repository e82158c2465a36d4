/**
 * The people who operate the mesh (event-mesh:replayOperators): the grants `mesh replay --gcp` and
 * `mesh dead-letters --redrive --gcp` need (profiles.ts replayOperatorGrants), per principal. They are
 * the only principals this stack lets publish to the redrive topics, so a replay or a redrive
 * always comes from a named person's identity, which the audit records.
 */
import { createHash } from 'node:crypto';
import type { MeshContext } from './context';
import { bindGrants, type GrantTargets } from './iam';
import { replayOperatorGrants } from './profiles';

/** `targets` must hold the redrive topics, the dead-letter holds, the dataset and its tables. */
export function createReplayOperators(ctx: MeshContext, targets: Partial<GrantTargets>): void {
  const grants = replayOperatorGrants(ctx.spec);
  for (const member of ctx.config.replayOperators) {
    // Named by a digest of the principal: stable across runs, and an email never becomes a resource name.
    const who = `replay-operator-${createHash('sha256').update(member).digest('hex').slice(0, 8)}`;
    bindGrants(ctx, who, member, grants, targets);
  }
}
