/**
 * The CrossGuard rules, called directly (a PolicyPack would start its server): per rule one
 * resource that passes and one that fails, shaped like the program's mocked resources.
 */
import type { ResourceValidationArgs, ResourceValidationPolicy } from '@pulumi/policy';
import {
  bigqueryTablesArePartitioned,
  cloudRunHasOwnServiceAccount,
  exactlyOnceOnlyOnPull,
  noPublicIamMembers,
  policies,
  pushSubscriptionsHaveOidc,
  subscriptionsHaveDeadLetterPolicy,
} from '../../infra/policy/policies';

const T = {
  subscription: 'gcp:pubsub/subscription:Subscription',
  run: 'gcp:cloudrunv2/service:Service',
  table: 'gcp:bigquery/table:Table',
};

/** Runs one policy on one resource; returns the violations it reported. */
async function violations(policy: ResourceValidationPolicy, type: string, name: string, props: Record<string, unknown>): Promise<string[]> {
  const reported: string[] = [];
  const args = { type, name, urn: `urn:pulumi:dev::event-mesh::${type}::${name}`, props, opts: {}, stackTags: new Map() } as unknown as ResourceValidationArgs;
  for (const validate of [policy.validateResource ?? []].flat()) await validate(args, (message) => reported.push(message));
  return reported;
}

const dlq = { deadLetterTopic: 'projects/p/topics/c-dlq', maxDeliveryAttempts: 5 };
const oidc = { serviceAccountEmail: 'mesh-x-push@p.iam.gserviceaccount.com', audience: 'https://x-1.us-central1.run.app' };

it('has the six rules, all mandatory', () => {
  expect(policies.map((p) => p.name)).toEqual([
    'subscription-has-dead-letter-policy',
    'exactly-once-pull-only',
    'no-public-iam-members',
    'push-subscription-has-oidc-token',
    'cloud-run-non-default-service-account',
    'bigquery-table-time-partitioned',
  ]);
  for (const p of policies) expect(p.enforcementLevel).toBe('mandatory');
});

describe('subscription-has-dead-letter-policy', () => {
  it('passes a subscription with a dead-letter topic, and the hold subscriptions without one', async () => {
    expect(await violations(subscriptionsHaveDeadLetterPolicy, T.subscription, 'c', { name: 'c', deadLetterPolicy: dlq })).toEqual([]);
    expect(await violations(subscriptionsHaveDeadLetterPolicy, T.subscription, 'c-dlq-hold', { name: 'c-dlq-hold' })).toEqual([]);
  });
  it('fails any other subscription without one', async () => {
    expect(await violations(subscriptionsHaveDeadLetterPolicy, T.subscription, 'c-redrive', { name: 'c-redrive' })).toEqual([
      'subscription c-redrive has no deadLetterPolicy: a poison message would be redelivered forever',
    ]);
  });
  it('ignores other types', async () => {
    expect(await violations(subscriptionsHaveDeadLetterPolicy, 'gcp:pubsub/topic:Topic', 'c', { name: 'c' })).toEqual([]);
  });
});

describe('exactly-once-pull-only', () => {
  it('passes exactly-once on pull', async () => {
    expect(await violations(exactlyOnceOnlyOnPull, T.subscription, 'c', { enableExactlyOnceDelivery: true, deadLetterPolicy: dlq })).toEqual([]);
  });
  it('fails exactly-once with a push config', async () => {
    expect(await violations(exactlyOnceOnlyOnPull, T.subscription, 'c', { name: 'c', enableExactlyOnceDelivery: true, pushConfig: { pushEndpoint: 'https://x', oidcToken: oidc } })).toHaveLength(1);
  });
});

describe('no-public-iam-members', () => {
  it('passes grants to named accounts', async () => {
    for (const type of ['gcp:cloudrunv2/serviceIamMember:ServiceIamMember', 'gcp:pubsub/topicIAMMember:TopicIAMMember', 'gcp:projects/iAMMember:IAMMember']) {
      expect(await violations(noPublicIamMembers, type, 'g', { role: 'roles/run.invoker', member: 'serviceAccount:a@p.iam.gserviceaccount.com' })).toEqual([]);
    }
  });
  it('fails allUsers and allAuthenticatedUsers on members, bindings, policies and dataset access', async () => {
    expect(await violations(noPublicIamMembers, 'gcp:cloudrunv2/serviceIamMember:ServiceIamMember', 'g', { role: 'roles/run.invoker', member: 'allUsers' })).toEqual([
      'g grants roles/run.invoker to allUsers: nothing in the mesh is public',
    ]);
    expect(await violations(noPublicIamMembers, 'gcp:pubsub/subscriptionIAMBinding:SubscriptionIAMBinding', 'b', { role: 'r', members: ['user:a@b.c', 'allAuthenticatedUsers'] })).toHaveLength(1);
    expect(await violations(noPublicIamMembers, 'gcp:projects/iAMPolicy:IAMPolicy', 'p', { policyData: JSON.stringify({ bindings: [{ role: 'r', members: ['allUsers'] }] }) })).toHaveLength(1);
    expect(await violations(noPublicIamMembers, 'gcp:bigquery/dataset:Dataset', 'd', { accesses: [{ role: 'READER', specialGroup: 'allAuthenticatedUsers' }] })).toHaveLength(1);
  });
});

describe('push-subscription-has-oidc-token', () => {
  it('passes push with a token, and pull', async () => {
    expect(await violations(pushSubscriptionsHaveOidc, T.subscription, 'c', { pushConfig: { pushEndpoint: 'https://x', oidcToken: oidc } })).toEqual([]);
    expect(await violations(pushSubscriptionsHaveOidc, T.subscription, 'c', {})).toEqual([]);
  });
  it('fails push without a token', async () => {
    expect(await violations(pushSubscriptionsHaveOidc, T.subscription, 'c', { name: 'c', pushConfig: { pushEndpoint: 'https://x' } })).toHaveLength(1);
  });
});

describe('cloud-run-non-default-service-account', () => {
  it('passes a service with its own account', async () => {
    expect(await violations(cloudRunHasOwnServiceAccount, T.run, 'processor', { name: 'processor', template: { serviceAccount: 'mesh-processor@p.iam.gserviceaccount.com' } })).toEqual([]);
  });
  it('fails a service without one or with the default compute account', async () => {
    expect(await violations(cloudRunHasOwnServiceAccount, T.run, 'processor', { name: 'processor', template: {} })).toHaveLength(1);
    expect(await violations(cloudRunHasOwnServiceAccount, T.run, 'processor', { template: { serviceAccount: '123-compute@developer.gserviceaccount.com' } })).toEqual([
      'Cloud Run service processor runs as the default account 123-compute@developer.gserviceaccount.com',
    ]);
  });
});

describe('bigquery-table-time-partitioned', () => {
  it('passes partitioned tables and views', async () => {
    expect(await violations(bigqueryTablesArePartitioned, T.table, 'orders_events', { tableId: 'orders_events', timePartitioning: { type: 'DAY', field: 'event_time' } })).toEqual([]);
    expect(await violations(bigqueryTablesArePartitioned, T.table, 'orders_events_dedup', { tableId: 'orders_events_dedup', view: { query: 'SELECT 1' } })).toEqual([]);
  });
  it('fails an unpartitioned table', async () => {
    expect(await violations(bigqueryTablesArePartitioned, T.table, 'raw', { tableId: 'raw' })).toEqual(['BigQuery table raw has no timePartitioning']);
  });
});
