/**
 * event-mesh:replayOperators (infra/operators.ts), with the Pulumi engine mocked: the named people
 * are the only principals the stack lets publish to the consumers' redrive topics (the path a replay
 * or a redrive takes to one consumer), and they get what `mesh replay --gcp` reads and writes.
 */
import { defaultSpec } from '../support/specs';
import { consumerResources } from '../../shared/spec';
import { failMesh, Mesh, runMesh, T } from './harness';
import { redriveTopicsPublishedByOperatorsOnly, type RedrivePublishersConfig } from '../../infra/policy/policies';

const OPERATORS = ['group:mesh-oncall@example.com', 'user:ana@example.com'];
const redriveTopics = Object.values(defaultSpec().consumers)
  .map((c) => consumerResources(c).redriveTopic)
  .sort();
/** Topic IAM grants as `role topic member`, the topic by its resource name in the mocks. */
const topicGrants = (mesh: Mesh) =>
  mesh.all(T.topicIam).map((g) => ({ role: String(g.inputs.role), topic: String(g.inputs.topic), member: String(g.inputs.member) }));

describe('replay operators', () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh({ 'event-mesh:replayOperators': OPERATORS });
  });

  it('lets each operator publish to every redrive topic, and nobody else', () => {
    const onRedrive = topicGrants(mesh).filter((g) => redriveTopics.some((t) => g.topic.endsWith(t)));
    for (const operator of OPERATORS) {
      const theirs = onRedrive.filter((g) => g.member === operator && g.role === 'roles/pubsub.publisher');
      expect(theirs.map((g) => redriveTopics.find((t) => g.topic.endsWith(t))).sort()).toEqual(redriveTopics);
    }
    expect(onRedrive.filter((g) => !OPERATORS.includes(g.member))).toEqual([]);
    // Never on the real-time topics: a replay reaches one consumer only.
    expect(topicGrants(mesh).filter((g) => OPERATORS.includes(g.member) && !redriveTopics.some((t) => g.topic.endsWith(t)))).toEqual([]);
  });

  it('gives them what a replay or redrive reads and records: the warehouse, replay_audit, operations_audit, Firestore, the holds', () => {
    for (const operator of OPERATORS) {
      const project = mesh
        .all(T.projectIam)
        .filter((g) => g.inputs.member === operator)
        .map((g) => g.inputs.role);
      expect(project.sort()).toEqual(['roles/bigquery.jobUser', 'roles/datastore.user']);
      expect(
        mesh
          .all(T.datasetIam)
          .filter((g) => g.inputs.member === operator)
          .map((g) => g.inputs.role),
      ).toEqual(['roles/bigquery.dataViewer']);
      expect(
        mesh
          .all(T.bigqueryIam)
          .filter((g) => g.inputs.member === operator)
          .map((g) => [g.inputs.role, g.inputs.tableId])
          .sort(),
      ).toEqual([
        ['roles/bigquery.dataEditor', 'operations_audit'],
        ['roles/bigquery.dataEditor', 'replay_audit'],
      ]);
      const holds = mesh.all(T.subscriptionIam).filter((g) => g.inputs.member === operator);
      expect(holds).toHaveLength(redriveTopics.length);
      expect(holds.every((g) => g.inputs.role === 'roles/pubsub.subscriber' && String(g.inputs.subscription).endsWith('-dlq-hold'))).toBe(true);
    }
  });
});

it('passes the policy pack given the same operators, and fails it given others', async () => {
  const mesh = await runMesh({ 'event-mesh:replayOperators': OPERATORS });
  const run = async (config: RedrivePublishersConfig) => {
    const violations: string[] = [];
    for (const r of mesh.resources.filter((x) => x.custom)) {
      const args = { type: r.type, name: r.name, urn: `urn:${r.type}::${r.name}`, props: r.inputs, getConfig: () => config };
      for (const validate of [redriveTopicsPublishedByOperatorsOnly.validateResource ?? []].flat()) await validate(args as never, (m) => violations.push(m));
    }
    return violations;
  };
  expect(await run({ operators: OPERATORS })).toEqual([]);
  // The topic is passed by name (known at preview), so the rule sees which topic each grant is on.
  expect(await run({ operators: [OPERATORS[0]] })).toHaveLength(redriveTopics.length);
});

it('grants nobody publish on the redrive topics without operators', async () => {
  const mesh = await runMesh({});
  expect(topicGrants(mesh).filter((g) => redriveTopics.some((t) => g.topic.endsWith(t)))).toEqual([]);
});

it('refuses an operator that is not a principal', async () => {
  const error = await failMesh({ 'event-mesh:replayOperators': ['ana@example.com'] });
  expect(error.message).toContain('event-mesh:replayOperators: "ana@example.com" is not a principal');
});
