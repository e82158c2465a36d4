/**
 * Contract tests generated per topic from the spec (issue 22, the seeds' "compatibility testing in
 * CI"): for every topic of mesh.yaml, the producer side (each accepted revision meets the topic's
 * compatibility mode; its samples are what the publisher's validation sends) and the consumer side
 * (each consumer's real decoder and its service's own check take samples of every revision it reads).
 * A new topic, revision or consumer in the spec gets its tests without a line here.
 * The end-to-end part (older revisions through today's running consumers, then a replay) is
 * test/system/schema-contracts.test.ts.
 */
import { compatibilityIssues, consumerReadiness } from '../../shared/governance';
import { samplePayload, topicSchemas } from '../../shared/schemas';
import { serviceEventChecks } from '../../tools/schema/event-checks';
import { defaultSpec } from '../support/specs';

const spec = defaultSpec();
const checks = serviceEventChecks(spec);

describe.each(Object.keys(spec.topics))('topic %s', (topic) => {
  const schemas = topicSchemas(spec, topic);
  const mode = spec.topics[topic].schema.compatibility;

  it(`producer: every revision meets ${mode}, and samples of each accepted revision pass the publisher's validation`, () => {
    expect(compatibilityIssues(topic, schemas.revisions, mode)).toEqual([]);
    for (const revision of schemas.accepted)
      for (const variant of ['full', 'minimal'] as const)
        expect(Object.keys(schemas.normalize(samplePayload(revision, variant), revision.name))).toEqual(revision.fieldNames);
  });

  const consumers = Object.values(spec.consumers).filter((c) => c.topic === topic);
  it.each(consumers.map((c) => [c.name, c.reads ?? schemas.accepted.map((r) => r.name)] as const))(
    'consumer %s: decodes and accepts samples of every revision it reads (%j)',
    (name, reads) => {
      for (const revision of reads) {
        const [row] = consumerReadiness(spec, topic, revision, checks).filter((r) => r.consumer === name);
        expect(row.problems).toEqual([]);
        expect(row.samples).toBe(spec.consumers[name].delivery === 'bigquery' ? 0 : spec.topics[topic].eventTypes.length * 2);
      }
    },
  );
});
