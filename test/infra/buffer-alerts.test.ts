/**
 * The buffer alert (infra/buffer-alerts.ts), under Pulumi's mocks: per consumer, one policy on the
 * oldest unacked message age of its subscription and of its redrive subscription, firing at 0.8 of the
 * retention the program gives that very subscription (Pub/Sub's default 7 days when it sets none).
 */
import { loadSpec } from '../../shared/spec';
import { fixture, REPO, runMesh, T, type Mesh } from './harness';

jest.setTimeout(60_000);

const DEFAULT_RETENTION_SECONDS = 7 * 86400; // https://cloud.google.com/pubsub/docs/subscription-properties

/** What the program set as the subscription's retention, in seconds ("604800s"), else Pub/Sub's default. */
const retentionOf = (mesh: Mesh, subscription: string) => {
  const set = mesh.one(T.subscription, subscription).inputs.messageRetentionDuration as string | undefined;
  return set ? Number(set.replace(/s$/, '')) : DEFAULT_RETENTION_SECONDS;
};

function expectBufferAlert(mesh: Mesh, consumer: string, channels: string[]) {
  const alert = mesh.one(T.alert, `${consumer}-buffer`).inputs;
  expect(alert).toMatchObject({ combiner: 'OR', notificationChannels: channels, documentation: { mimeType: 'text/markdown' } });
  expect(alert.userLabels).toMatchObject({ 'managed-by': 'event-mesh', 'mesh-consumer': consumer });
  const subscriptions = [consumer, `${consumer}-redrive`];
  expect(alert.conditions).toHaveLength(subscriptions.length);
  for (const [i, subscription] of subscriptions.entries()) {
    const threshold = alert.conditions[i].conditionThreshold;
    expect(threshold.filter).toBe(
      `resource.type = "pubsub_subscription" AND resource.labels.subscription_id = "${subscription}" AND metric.type = "pubsub.googleapis.com/subscription/oldest_unacked_message_age"`,
    );
    expect(threshold.comparison).toBe('COMPARISON_GT');
    expect(threshold.thresholdValue).toBeCloseTo(0.8 * retentionOf(mesh, subscription), 6);
  }
  return alert;
}

describe('on the repository spec', () => {
  const spec = loadSpec(`${REPO}/mesh.yaml`);
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh({ 'event-mesh:alertChannels': ['42'] });
  });

  it.each(Object.values(spec.consumers))('$name ($delivery) alerts at 80 % of each subscription retention, to its owner and the alert channels', (c) => {
    expectBufferAlert(mesh, c.name, [...mesh.channelsOf(c.owner!), 'projects/mesh-test/notificationChannels/42']);
  });

  it('follows what each subscription keeps: a replay window of 7 days, or the default when none is set', () => {
    const conditions = mesh.one(T.alert, 'processor-analytics-buffer').inputs.conditions;
    expect(conditions.map((c: { conditionThreshold: { thresholdValue: number } }) => c.conditionThreshold.thresholdValue)).toEqual([483840, 483840]);
  });

  it.each(Object.values(spec.consumers).filter((c) => c.delivery !== 'bigquery'))('$name: tells whoever is paged how to check and resume', (c) => {
    const text = mesh.one(T.alert, `${c.name}-buffer`).inputs.documentation.content;
    expect(text).toContain('npm run mesh -- status');
    expect(text).toContain(`npm run mesh -- resume ${c.name} --owner NAME --intent WHY`);
  });

  it('a BigQuery consumer cannot be paused: its text says so and offers no resume', () => {
    const text = mesh.one(T.alert, 'archive-orders-buffer').inputs.documentation.content;
    expect(text).toContain('npm run mesh -- status');
    expect(text).toContain('cannot be paused');
    expect(text).not.toContain('mesh -- resume');
  });
});

describe('on a consumer with a 3-day replay window (fixtures/pull-exactly-once.yaml)', () => {
  it('alerts on its subscription at 0.8 x 3 days, and on its redrive subscription at 0.8 x the default 7 days', async () => {
    const mesh = await runMesh({ 'event-mesh:specFile': fixture('pull-exactly-once.yaml') });
    expect(retentionOf(mesh, 'worker-orders')).toBe(3 * 86400);
    const alert = expectBufferAlert(mesh, 'worker-orders', []);
    expect(alert.conditions[0].conditionThreshold.thresholdValue).toBeCloseTo(0.8 * 3 * 86400, 6);
    expect(alert.conditions[1].conditionThreshold.thresholdValue).toBeCloseTo(0.8 * 7 * 86400, 6);
    expect(alert.documentation.content).toContain('`worker-orders`: retention 3 d; alerts at 2.4 d, 14.4 h before Pub/Sub drops its oldest messages.');
  });
});
