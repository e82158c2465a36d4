/**
 * Owners, their notification channels and where each alert goes (infra/owners.ts), and the dead-letter
 * triage alerts (infra/triage-alerts.ts), under Pulumi's mocks (see harness.ts; the mocks give each
 * channel an id as GCP would, projects/<p>/notificationChannels/<n>).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runbookLine } from '../../shared/operations/runbooks';
import { loadSpec } from '../../shared/spec';
import { writeRepoSpecWithFreePorts } from '../support/specs';
import { fixture, launchViolation, Mesh, PROJECT, REPO, runMesh, T } from './harness';

jest.setTimeout(120_000);

const STACK = `projects/${PROJECT}/notificationChannels/42`;
const MONITORING_AGENT = 'serviceAccount:service-123456789012@gcp-sa-monitoring-notification.iam.gserviceaccount.com';
const EXISTING = 'projects/elsewhere/notificationChannels/77';
/** Every policy about one consumer, by suffix. */
const CONSUMER_POLICIES = ['oldest-unacked', 'backlog', 'dead-letters', 'buffer', 'triage-sla', 'triage-escalation', 'archive-stalled'];

/** Runs the program collecting what it warned (pulumi.log.warn prints to console.warn under mocks). */
async function runWarned(config: Record<string, unknown>): Promise<{ mesh: Mesh; warnings: string[] }> {
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    const mesh = await runMesh(config);
    return { mesh, warnings: warn.mock.calls.map((call) => String(call[0])).filter((m) => m.includes('no owner')) };
  } finally {
    warn.mockRestore();
  }
}

const channelsOfPolicy = (mesh: Mesh, name: string) => mesh.one(T.alert, name).inputs.notificationChannels as string[];

describe('on the repository spec (owners growth, commerce, data, each with an email)', () => {
  const spec = loadSpec(`${REPO}/mesh.yaml`);
  let mesh: Mesh;
  let warnings: string[];
  beforeAll(async () => {
    ({ mesh, warnings } = await runWarned({ 'event-mesh:alertChannels': ['42'] }));
  });

  it('creates one email channel per owner channel, labelled with its owner', () => {
    const channels = mesh.all(T.channel).map((c) => [c.inputs.userLabels['mesh-owner'], c.inputs.type, c.inputs.labels.email_address]);
    expect(channels.sort()).toEqual(
      Object.values(spec.owners)
        .flatMap((o) => o.channels.map((c) => [o.name, 'email', c.kind === 'email' ? c.address : '?']))
        .sort(),
    );
    for (const c of mesh.all(T.channel)) expect(c.id).toMatch(new RegExp(`^projects/${PROJECT}/notificationChannels/\\d+$`));
  });

  it.each(Object.values(spec.consumers))("$name: every policy of the consumer goes to its owner's channels and the stack's", (c) => {
    expect(mesh.channelsOf(c.owner!)).toHaveLength(1);
    for (const kind of CONSUMER_POLICIES) expect([kind, channelsOfPolicy(mesh, `${c.name}-${kind}`)]).toEqual([kind, [...mesh.channelsOf(c.owner!), STACK]]);
  });

  it('topic alerts go to the owners of every topic they span', () => {
    // Both span analytics (growth) and orders (commerce): the processor reads both, and both have a warehouse consumer.
    const topicOwners = [...mesh.channelsOf('growth'), ...mesh.channelsOf('commerce'), STACK];
    expect(channelsOfPolicy(mesh, 'anomalies')).toEqual(topicOwners);
    expect(channelsOfPolicy(mesh, 'parity')).toEqual(topicOwners);
  });

  it('warns about nothing and grants Monitoring nothing (no Pub/Sub channel)', () => {
    expect(warnings).toEqual([]);
    expect(mesh.grantsOf(MONITORING_AGENT)).toEqual([]);
  });

  it.each(Object.values(spec.consumers))('$name: a WARNING past its triage SLA (4h by default) and a CRITICAL at 80 % of the hold retention', (c) => {
    const policy = (kind: string) => mesh.one(T.alert, `${c.name}-${kind}`).inputs;
    const hold = `resource.type = "pubsub_subscription" AND resource.labels.subscription_id = "${c.name}-dlq-hold" AND metric.type = "pubsub.googleapis.com/subscription/oldest_unacked_message_age"`;
    expect(policy('triage-sla')).toMatchObject({ severity: 'WARNING', combiner: 'OR', userLabels: { 'mesh-consumer': c.name } });
    expect(policy('triage-sla').conditions[0].conditionThreshold).toMatchObject({
      filter: hold,
      comparison: 'COMPARISON_GT',
      thresholdValue: 4 * 3600,
      duration: '0s',
      aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX' }],
    });
    // The hold keeps messages 31 days (consumers.ts); 80 % of it is 24.8 days.
    expect(mesh.one(T.subscription, `${c.name}-dlq-hold`).inputs.messageRetentionDuration).toBe(`${31 * 86400}s`);
    expect(policy('triage-escalation')).toMatchObject({ severity: 'CRITICAL' });
    expect(policy('triage-escalation').conditions[0].conditionThreshold).toMatchObject({ filter: hold, thresholdValue: 0.8 * 31 * 86400 });
    for (const kind of ['triage-sla', 'triage-escalation']) {
      const text = policy(kind).documentation.content as string;
      expect(text).toContain(`npm run mesh -- dead-letters ${c.name}`);
      expect(text.endsWith(runbookLine('dead-letters'))).toBe(true);
    }
  });

  it.each(Object.values(spec.consumers))(
    '$name: its dead letters are also copied to BigQuery through <c>-dlq-archive, which the warehouse alone pulls',
    (c) => {
      const archive = mesh.one(T.subscription, `${c.name}-dlq-archive`).inputs;
      // On the dead-letter topic beside the hold, as long-lived, with no dead-letter policy of its own.
      expect(archive).toMatchObject({ name: `${c.name}-dlq-archive`, messageRetentionDuration: `${31 * 86400}s`, expirationPolicy: { ttl: '' } });
      expect(archive.topic).toBe(mesh.one(T.subscription, `${c.name}-dlq-hold`).inputs.topic);
      expect(archive.deadLetterPolicy).toBeUndefined();
      expect(archive.retryPolicy).toEqual({ minimumBackoff: '10s', maximumBackoff: '600s' });
      const readers = mesh.subscriptionMembers(`${c.name}-dlq-archive`, 'roles/pubsub.subscriber');
      expect(readers).toEqual([mesh.serviceAccountMember('warehouse')]);
      // Stalled an hour: the owner hears of it (the dead letters are still in the hold).
      const stalled = mesh.one(T.alert, `${c.name}-archive-stalled`).inputs;
      expect(stalled.severity).toBe('WARNING');
      expect(stalled.conditions[0].conditionThreshold).toMatchObject({
        filter: expect.stringContaining(`resource.labels.subscription_id = "${c.name}-dlq-archive"`),
        thresholdValue: 3600,
      });
      expect((stalled.documentation.content as string).endsWith(runbookLine('dead-letters'))).toBe(true);
    },
  );
});

describe('Pub/Sub and existing channels, a set triage SLA, one consumer without an owner', () => {
  let dir: string;
  let mesh: Mesh;
  let warnings: string[];
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-owners-'));
    const specFile = await writeRepoSpecWithFreePorts(dir, (doc) => {
      doc.owners.commerce.channels.push({ pubsub: 'commerce-pages' }, { channel: EXISTING });
      doc.owners.data.channels.push({ pubsub: 'orders' }); // a topic of the mesh itself
      doc.consumers['processor-orders'].deadLetter.triageSla = '30m';
      delete doc.consumers['dashboard-orders'].owner;
    });
    const images = Object.fromEntries(['dashboard', 'processor', 'warehouse'].map((s) => [s, `europe-docker.pkg.dev/p/r/${s}:1`]));
    ({ mesh, warnings } = await runWarned({ 'event-mesh:specFile': specFile, 'event-mesh:images': images, 'event-mesh:alertChannels': ['42'] }));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const pubsubChannel = (topic: string) => {
    const found = mesh.all(T.channel).filter((c) => c.inputs.type === 'pubsub' && c.inputs.labels.topic === `projects/${PROJECT}/topics/${topic}`);
    expect(found).toHaveLength(1);
    return found[0];
  };

  it('makes a pubsub channel on the full topic name, and uses an existing channel by its name', () => {
    expect(pubsubChannel('commerce-pages').inputs.userLabels['mesh-owner']).toBe('commerce');
    expect(mesh.all(T.channel).map((c) => JSON.stringify(c.inputs))).not.toContainEqual(expect.stringContaining(EXISTING));
    expect(channelsOfPolicy(mesh, 'processor-orders-backlog')).toEqual([
      ...mesh.channelsOf('commerce').filter((id) => id !== pubsubChannel('commerce-pages').id),
      pubsubChannel('commerce-pages').id,
      EXISTING,
      STACK,
    ]);
  });

  it("lets Monitoring's notification agent publish to each pubsub channel's topic, once the channel exists", () => {
    expect(mesh.grantsOf(MONITORING_AGENT)).toEqual(['roles/pubsub.publisher on topic commerce-pages', 'roles/pubsub.publisher on topic orders']);
    for (const topic of ['commerce-pages', 'orders']) {
      const grant = mesh.all(T.topicIam).find((g) => g.inputs.member === MONITORING_AGENT && g.inputs.topic === topic)!;
      expect(grant.inputs).toMatchObject({ project: PROJECT, role: 'roles/pubsub.publisher' });
      expect(mesh.dependenciesOf(grant)).toContain(Mesh.key(pubsubChannel(topic)));
    }
    // On the mesh's own topic, the grant also waits for the topic.
    const onOrders = mesh.all(T.topicIam).find((g) => g.inputs.member === MONITORING_AGENT && g.inputs.topic === 'orders')!;
    expect(mesh.dependenciesOf(onOrders)).toContain(`${T.topic}::orders`);
  });

  it('fires the triage SLA alert at the SLA the spec sets', () => {
    expect(mesh.one(T.alert, 'processor-orders-triage-sla').inputs.conditions[0].conditionThreshold.thresholdValue).toBe(1800);
    expect(mesh.one(T.alert, 'processor-orders-triage-sla').inputs.documentation.content).toContain('triage SLA of 30m');
  });

  it("keeps the stack's list only for the consumer without an owner, and warns once, naming it", () => {
    for (const kind of CONSUMER_POLICIES) expect(channelsOfPolicy(mesh, `dashboard-orders-${kind}`)).toEqual([STACK]);
    const unowned = warnings.filter((w) => w.includes('no owner for'));
    expect(unowned).toHaveLength(1);
    expect(unowned[0]).toContain('no owner for consumer dashboard-orders: their alerts go only to event-mesh:alertChannels (1 channel)');
  });

  it('refuses the high-impact orders topic for its consumer without an owner, and passes every other policy', async () => {
    // The launch checklist: an ownerless consumer is neither on call nor routed (shared/readiness).
    const ids = ['owner', 'alerts-routed'];
    expect(await mesh.policyViolations()).toEqual([launchViolation('orders', ids)]);
    expect(warnings.find((w) => w.includes('high-impact topic orders is not launch ready'))).toContain(
      'consumer dashboard-orders: on-call owner assigned: no owner',
    );
  });
});

describe('a spec without owners (fixtures/bigquery.yaml)', () => {
  it("keeps today's routing, the stack's list, and warns naming the unowned topics and consumers", async () => {
    const { mesh, warnings } = await runWarned({ 'event-mesh:specFile': fixture('bigquery.yaml'), 'event-mesh:alertChannels': ['42'] });
    expect(mesh.all(T.channel)).toEqual([]);
    expect(mesh.all(T.alert).length).toBeGreaterThan(0);
    for (const alert of mesh.all(T.alert)) expect([alert.name, alert.inputs.notificationChannels]).toEqual([alert.name, [STACK]]);
    expect(warnings).toEqual([expect.stringContaining('no owner for topic analytics and consumer archive-analytics: their alerts go only to')]);
  });

  it('says the alerts reach nobody when the stack has no channels either', async () => {
    const { mesh, warnings } = await runWarned({ 'event-mesh:specFile': fixture('bigquery.yaml') });
    for (const alert of mesh.all(T.alert)) expect(alert.inputs.notificationChannels).toEqual([]);
    expect(warnings).toEqual([expect.stringContaining('their alerts reach nobody: event-mesh:alertChannels is empty too')]);
  });
});
