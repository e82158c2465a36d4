/**
 * The schema gate at deploy time: a topic is not deployed while a revision it accepts has a consumer
 * that is not ready for it (shared/governance/readiness.ts), so a publisher rollout cannot go ahead of
 * its readers even when CI was skipped. Unlike the rules in policies.ts this one reads the spec the
 * stack is deployed from: readiness is a fact about consumers' declarations and decoders, not about
 * any one resource. The pack cannot load the services' own checks (infra/ does not import
 * services/), so it runs the decoder; `mesh schema check` in CI runs both.
 *
 * Policy config: `schema-readers-ready` takes `{"spec": "<path of mesh.yaml>"}` (default: MESH_SPEC,
 * else the repository's mesh.yaml).
 */
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { formatGovernanceIssue, readinessIssues } from '../../shared/governance';
import { loadSpec } from '../../shared/spec';

export const TOPIC_TYPE = 'gcp:pubsub/topic:Topic';

export interface SchemaReadersConfig {
  spec?: string;
}

export const schemaReadersReady: ResourceValidationPolicy = {
  name: 'schema-readers-ready',
  description: 'Every schema revision a topic accepts is declared and decoded by each of its consumers (a producer cannot send what a reader cannot read).',
  enforcementLevel: 'mandatory',
  configSchema: { properties: { spec: { type: 'string' } } },
  validateResource: (args, report) => {
    if (args.type !== TOPIC_TYPE) return;
    const spec = loadSpec(args.getConfig<SchemaReadersConfig>().spec);
    const topic = String(args.props.name ?? args.name);
    if (!spec.topics[topic]) return; // not a mesh topic (a dead-letter or redrive topic, another stack's)
    for (const issue of readinessIssues(spec, topic)) report(formatGovernanceIssue(issue));
  },
};
