/**
 * The launch checklist (shared/readiness) on each high-impact topic, as labels the policy pack reads:
 * CrossGuard rules see resources, not the spec (infra/policy/policies.ts), so the program, which has
 * the spec and runs in the repository, writes the verdict where the rule finds it:
 *   mesh-impact: high | normal                     (every topic)
 *   mesh-launch-checklist: ready | <ids>_<ids>...  (high-impact topics: the items not met, of the topic and its consumers)
 * Only the items the spec and the repository tell (SPEC_AND_REPO_ITEMS). "Replay tested" needs the
 * deployed warehouse's replay_audit, which a preview cannot read and which a stack config value would
 * only claim: the deploy pipeline runs `npm run mesh -- readiness --topic <t> --strict --gcp` before
 * `pulumi up` for that item (docs/operations.md, Launch readiness). Runbooks are checked for presence
 * here; whether they match the spec is test/unit/runbooks.test.ts's and `mesh readiness`'s.
 */
import { launchChecklist, missingItems, repoFacts, SPEC_AND_REPO_ITEMS, CHECKLIST_ITEMS, type ChecklistItemId } from '../shared/readiness';
import type { MeshSpec, TopicSpec } from '../shared/spec';
import { REPO_ROOT } from './config';

// The policy pack's names for them: it is a package of its own, so it repeats them (test/infra/launch-readiness.test.ts checks both agree).
export const IMPACT_LABEL = 'mesh-impact';
export const LAUNCH_CHECKLIST_LABEL = 'mesh-launch-checklist';
export const LAUNCH_READY = 'ready';

/** Label values allow `-` inside ids, so `_` separates them; all five ids fit in 63 characters. */
export const LAUNCH_ITEM_SEPARATOR = '_';

export interface TopicLaunchState {
  labels: Record<string, string>;
  /** One line per item not met (for the program's warning), empty when ready or not high-impact. */
  missing: string[];
}

export function topicLaunchState(spec: MeshSpec, topic: TopicSpec, root = REPO_ROOT): TopicLaunchState {
  if (topic.impact !== 'high') return { labels: { [IMPACT_LABEL]: topic.impact }, missing: [] };
  const [readiness] = launchChecklist(spec, repoFacts(spec, root), topic.name);
  const missing = missingItems(readiness, SPEC_AND_REPO_ITEMS);
  const ids = [...new Set(missing.map(({ item }) => item.id))] as ChecklistItemId[];
  return {
    labels: { [IMPACT_LABEL]: 'high', [LAUNCH_CHECKLIST_LABEL]: ids.length ? ids.join(LAUNCH_ITEM_SEPARATOR) : LAUNCH_READY },
    missing: missing.map(({ subject, item }) => `${subject}: ${CHECKLIST_ITEMS[item.id].title}: ${item.detail}`),
  };
}
