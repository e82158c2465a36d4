/**
 * The CrossGuard rules, called directly (a PolicyPack would start its server): per rule one
 * resource that passes and one that fails, shaped like the program's mocked resources.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ResourceValidationArgs, ResourceValidationPolicy } from '@pulumi/policy';
import {
  bigqueryTablesArePartitioned,
  cloudRunHasOwnServiceAccount,
  dataStoresAreProtected,
  exactlyOnceOnlyOnPull,
  noPrimitiveRoles,
  noPublicIamMembers,
  policies,
  pullServicesStayOn,
  pushSubscriptionsHaveOidc,
  redriveTopicsPublishedByOperatorsOnly,
  schedulerTargetsAuthenticate,
  subscriptionsHaveDeadLetterPolicy,
} from '../../infra/policy/policies';
import { REPO } from './harness';
import { schemaReadersReady } from '../../infra/policy/schema-policies';

const T = {
  subscription: 'gcp:pubsub/subscription:Subscription',
  run: 'gcp:cloudrunv2/service:Service',
  table: 'gcp:bigquery/table:Table',
};

/** Runs one policy on one resource (with this policy config); returns the violations it reported. */
async function violations(
  policy: ResourceValidationPolicy,
  type: string,
  name: string,
  props: Record<string, unknown>,
  config: Record<string, unknown> = {},
): Promise<string[]> {
  const reported: string[] = [];
  const args = {
    type,
    name,
    urn: `urn:pulumi:dev::event-mesh::${type}::${name}`,
    props,
    opts: {},
    stackTags: new Map(),
    getConfig: () => config,
  } as unknown as ResourceValidationArgs;
  for (const validate of [policy.validateResource ?? []].flat()) await validate(args, (message) => reported.push(message));
  return reported;
}

const dlq = { deadLetterTopic: 'projects/p/topics/c-dlq', maxDeliveryAttempts: 5 };
const oidc = { serviceAccountEmail: 'mesh-x-push@p.iam.gserviceaccount.com', audience: 'https://x-1.us-central1.run.app' };

it('has its rules, all mandatory', () => {
  expect(policies.map((p) => p.name)).toEqual([
    'subscription-has-dead-letter-policy',
    'exactly-once-pull-only',
    'no-public-iam-members',
    'push-subscription-has-oidc-token',
    'cloud-run-non-default-service-account',
    'scheduler-http-target-authenticated',
    'bigquery-table-time-partitioned',
    'no-primitive-roles',
    'data-store-deletion-protection',
    'pull-service-always-on',
    'redrive-topic-operators-only',
    'schema-readers-ready',
    'high-impact-topic-launch-ready',
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
    expect(
      await violations(exactlyOnceOnlyOnPull, T.subscription, 'c', {
        name: 'c',
        enableExactlyOnceDelivery: true,
        pushConfig: { pushEndpoint: 'https://x', oidcToken: oidc },
      }),
    ).toHaveLength(1);
  });
});

describe('no-public-iam-members', () => {
  it('passes grants to named accounts', async () => {
    for (const type of ['gcp:cloudrunv2/serviceIamMember:ServiceIamMember', 'gcp:pubsub/topicIAMMember:TopicIAMMember', 'gcp:projects/iAMMember:IAMMember']) {
      expect(await violations(noPublicIamMembers, type, 'g', { role: 'roles/run.invoker', member: 'serviceAccount:a@p.iam.gserviceaccount.com' })).toEqual([]);
    }
  });
  it('fails allUsers and allAuthenticatedUsers on members, bindings, policies and dataset access', async () => {
    expect(
      await violations(noPublicIamMembers, 'gcp:cloudrunv2/serviceIamMember:ServiceIamMember', 'g', { role: 'roles/run.invoker', member: 'allUsers' }),
    ).toEqual(['g grants roles/run.invoker to allUsers: nothing in the mesh is public']);
    expect(
      await violations(noPublicIamMembers, 'gcp:pubsub/subscriptionIAMBinding:SubscriptionIAMBinding', 'b', {
        role: 'r',
        members: ['user:a@b.c', 'allAuthenticatedUsers'],
      }),
    ).toHaveLength(1);
    expect(
      await violations(noPublicIamMembers, 'gcp:projects/iAMPolicy:IAMPolicy', 'p', {
        policyData: JSON.stringify({ bindings: [{ role: 'r', members: ['allUsers'] }] }),
      }),
    ).toHaveLength(1);
    expect(
      await violations(noPublicIamMembers, 'gcp:bigquery/dataset:Dataset', 'd', { accesses: [{ role: 'READER', specialGroup: 'allAuthenticatedUsers' }] }),
    ).toHaveLength(1);
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
    expect(
      await violations(cloudRunHasOwnServiceAccount, T.run, 'processor', {
        name: 'processor',
        template: { serviceAccount: 'mesh-processor@p.iam.gserviceaccount.com' },
      }),
    ).toEqual([]);
  });
  it('fails a service without one or with the default compute account', async () => {
    expect(await violations(cloudRunHasOwnServiceAccount, T.run, 'processor', { name: 'processor', template: {} })).toHaveLength(1);
    expect(
      await violations(cloudRunHasOwnServiceAccount, T.run, 'processor', { template: { serviceAccount: '123-compute@developer.gserviceaccount.com' } }),
    ).toEqual(['Cloud Run service processor runs as the default account 123-compute@developer.gserviceaccount.com']);
  });
});

describe('bigquery-table-time-partitioned', () => {
  it('passes partitioned tables and views', async () => {
    expect(
      await violations(bigqueryTablesArePartitioned, T.table, 'orders_events', {
        tableId: 'orders_events',
        timePartitioning: { type: 'DAY', field: 'event_time' },
      }),
    ).toEqual([]);
    expect(
      await violations(bigqueryTablesArePartitioned, T.table, 'orders_events_dedup', { tableId: 'orders_events_dedup', view: { query: 'SELECT 1' } }),
    ).toEqual([]);
  });
  it('fails an unpartitioned table', async () => {
    expect(await violations(bigqueryTablesArePartitioned, T.table, 'raw', { tableId: 'raw' })).toEqual(['BigQuery table raw has no timePartitioning']);
  });
});

describe('no-primitive-roles', () => {
  it('passes predefined roles on members, bindings and policies', async () => {
    expect(
      await violations(noPrimitiveRoles, 'gcp:projects/iAMMember:IAMMember', 'g', {
        role: 'roles/datastore.user',
        member: 'serviceAccount:a@p.iam.gserviceaccount.com',
      }),
    ).toEqual([]);
    expect(
      await violations(noPrimitiveRoles, 'gcp:projects/iAMPolicy:IAMPolicy', 'p', {
        policyData: JSON.stringify({ bindings: [{ role: 'roles/pubsub.subscriber', members: ['user:a@b.c'] }] }),
      }),
    ).toEqual([]);
  });
  it('fails owner, editor and viewer on any IAM member, binding or policy', async () => {
    expect(
      await violations(noPrimitiveRoles, 'gcp:projects/iAMMember:IAMMember', 'g', {
        role: 'roles/editor',
        member: 'serviceAccount:a@p.iam.gserviceaccount.com',
      }),
    ).toEqual(['g grants the basic role roles/editor: grant a predefined role for what is needed']);
    expect(
      await violations(noPrimitiveRoles, 'gcp:pubsub/topicIAMBinding:TopicIAMBinding', 'b', { role: 'roles/owner', members: ['user:a@b.c'] }),
    ).toHaveLength(1);
    expect(
      await violations(noPrimitiveRoles, 'gcp:cloudrunv2/serviceIamMember:ServiceIamMember', 'r', { role: 'roles/viewer', member: 'user:a@b.c' }),
    ).toHaveLength(1);
    expect(
      await violations(noPrimitiveRoles, 'gcp:projects/iAMPolicy:IAMPolicy', 'p', {
        policyData: JSON.stringify({ bindings: [{ role: 'roles/owner', members: ['user:a@b.c'] }] }),
      }),
    ).toHaveLength(1);
  });
  it('ignores other types', async () => {
    expect(await violations(noPrimitiveRoles, 'gcp:pubsub/topic:Topic', 't', { role: 'roles/owner' })).toEqual([]);
  });
});

describe('data-store-deletion-protection', () => {
  const table = 'gcp:bigquery/table:Table';
  const dataset = 'gcp:bigquery/dataset:Dataset';
  const firestore = 'gcp:firestore/database:Database';
  it('passes protected tables (explicitly or by the provider default), datasets that keep their tables, and a protected database', async () => {
    expect(await violations(dataStoresAreProtected, table, 't', { tableId: 't', deletionProtection: true })).toEqual([]);
    expect(await violations(dataStoresAreProtected, table, 't', { tableId: 't' })).toEqual([]);
    expect(await violations(dataStoresAreProtected, dataset, 'd', { datasetId: 'd', deleteContentsOnDestroy: false })).toEqual([]);
    expect(
      await violations(dataStoresAreProtected, firestore, 'f', {
        name: '(default)',
        deletionPolicy: 'ABANDON',
        deleteProtectionState: 'DELETE_PROTECTION_ENABLED',
      }),
    ).toEqual([]);
  });
  it('fails what destroy would delete with its data', async () => {
    expect(await violations(dataStoresAreProtected, table, 't', { tableId: 't', deletionProtection: false })).toEqual([
      'BigQuery table t has deletionProtection false; protect it (event-mesh:deletionProtection true) or, for a stack meant to be torn down, run with --policy-pack-config infra/policy/unprotected-stack.json',
    ]);
    expect(await violations(dataStoresAreProtected, dataset, 'd', { datasetId: 'd', deleteContentsOnDestroy: true })).toHaveLength(1);
    expect(
      await violations(dataStoresAreProtected, firestore, 'f', {
        name: '(default)',
        deletionPolicy: 'DELETE',
        deleteProtectionState: 'DELETE_PROTECTION_DISABLED',
      }),
    ).toHaveLength(1);
    // The API's default is no delete protection.
    expect(await violations(dataStoresAreProtected, firestore, 'f', { name: '(default)' })).toHaveLength(1);
  });
  it('lets a stack opt out through policy config, with the file the docs name', async () => {
    const file = JSON.parse(fs.readFileSync(path.join(REPO, 'infra/policy/unprotected-stack.json'), 'utf8'));
    expect(file).toEqual({ [dataStoresAreProtected.name]: { allowUnprotected: true } });
    const config = file[dataStoresAreProtected.name];
    expect(await violations(dataStoresAreProtected, table, 't', { tableId: 't', deletionProtection: false }, config)).toEqual([]);
    expect(await violations(dataStoresAreProtected, firestore, 'f', { deletionPolicy: 'DELETE' }, config)).toEqual([]);
    expect(dataStoresAreProtected.configSchema?.properties).toEqual({ allowUnprotected: { type: 'boolean', default: false } });
  });
});

describe('pull-service-always-on', () => {
  const pulling = (cpuIdle: boolean | undefined, minInstanceCount: number | undefined) => ({
    name: 'processor',
    labels: { 'mesh-pulls': 'true' },
    template: { scaling: { minInstanceCount, maxInstanceCount: 4 }, containers: [{ image: 'x', resources: { cpuIdle } }] },
  });
  it('passes a pull service with CPU always allocated and an instance, and services that do not pull', async () => {
    expect(await violations(pullServicesStayOn, T.run, 'processor', pulling(false, 1))).toEqual([]);
    expect(
      await violations(pullServicesStayOn, T.run, 'dashboard', { name: 'dashboard', template: { containers: [{ resources: { cpuIdle: true } }] } }),
    ).toEqual([]);
  });
  it('fails a pull service whose CPU is throttled (or left to the default) or that can scale to zero', async () => {
    expect(await violations(pullServicesStayOn, T.run, 'processor', pulling(true, 1))).toEqual([
      'Cloud Run service processor pulls but its CPU is throttled outside requests (set resources.cpuIdle false)',
    ]);
    expect(await violations(pullServicesStayOn, T.run, 'processor', pulling(undefined, 1))).toHaveLength(1);
    expect(await violations(pullServicesStayOn, T.run, 'processor', pulling(false, 0))).toEqual([
      'Cloud Run service processor pulls but may scale to zero instances (minInstanceCount 0); nothing would start it again',
    ]);
    expect(await violations(pullServicesStayOn, T.run, 'processor', pulling(false, undefined))).toHaveLength(1);
  });
});

describe('the pack as published', () => {
  it('has a package.json that pulumi policy publish can use', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'infra/policy/package.json'), 'utf8'));
    const root = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: expect.any(String), version: expect.stringMatching(/^\d+\.\d+\.\d+$/), main: 'index.ts' });
    expect(fs.existsSync(path.join(REPO, 'infra/policy', pkg.main))).toBe(true);
    // The same versions the program and the tests use.
    expect(pkg.dependencies).toEqual({ '@pulumi/policy': root.dependencies['@pulumi/policy'], '@pulumi/pulumi': root.dependencies['@pulumi/pulumi'] });
  });
});

describe('cloud-run-non-default-service-account on jobs', () => {
  const JOB = 'gcp:cloudrunv2/job:Job';
  it('passes a job with its own account, fails one without or with the default account', async () => {
    expect(
      await violations(cloudRunHasOwnServiceAccount, JOB, 'j', {
        name: 'mesh-parity',
        template: { template: { serviceAccount: 'mesh-parity@p.iam.gserviceaccount.com' } },
      }),
    ).toEqual([]);
    expect(await violations(cloudRunHasOwnServiceAccount, JOB, 'j', { name: 'mesh-parity', template: { template: {} } })).toEqual([
      "Cloud Run job mesh-parity sets no service account, so it runs as the project's default compute account",
    ]);
    expect(
      await violations(cloudRunHasOwnServiceAccount, JOB, 'j', {
        name: 'mesh-parity',
        template: { template: { serviceAccount: '1-compute@developer.gserviceaccount.com' } },
      }),
    ).toHaveLength(1);
  });
});

describe('scheduler-http-target-authenticated', () => {
  const SCHEDULER = 'gcp:cloudscheduler/job:Job';
  const api = 'https://run.googleapis.com/v2/projects/p/locations/r/jobs/mesh-parity:run';
  const account = { serviceAccountEmail: 'mesh-parity-scheduler@p.iam.gserviceaccount.com' };
  it('passes an OAuth token to a Google API and an OIDC token to a service URL', async () => {
    expect(await violations(schedulerTargetsAuthenticate, SCHEDULER, 's', { name: 's', httpTarget: { uri: api, oauthToken: account } })).toEqual([]);
    expect(
      await violations(schedulerTargetsAuthenticate, SCHEDULER, 's', { name: 's', httpTarget: { uri: 'https://x-1.a.run.app/run', oidcToken: account } }),
    ).toEqual([]);
  });
  it('fails no token, the wrong kind of token, and a default account', async () => {
    expect(await violations(schedulerTargetsAuthenticate, SCHEDULER, 's', { name: 's', httpTarget: { uri: api } })).toEqual([
      `scheduler job s calls ${api} without an OAuth token: the call would be refused, or the target open to anyone`,
    ]);
    expect(await violations(schedulerTargetsAuthenticate, SCHEDULER, 's', { name: 's', httpTarget: { uri: api, oidcToken: account } })).toHaveLength(1);
    expect(
      await violations(schedulerTargetsAuthenticate, SCHEDULER, 's', { name: 's', httpTarget: { uri: 'https://x.a.run.app/', oauthToken: account } }),
    ).toHaveLength(1);
    expect(
      await violations(schedulerTargetsAuthenticate, SCHEDULER, 's', {
        name: 's',
        httpTarget: { uri: api, oauthToken: { serviceAccountEmail: 'p@appspot.gserviceaccount.com' } },
      }),
    ).toEqual(['scheduler job s calls as the default account p@appspot.gserviceaccount.com']);
  });
  it('ignores Pub/Sub targets and other types', async () => {
    expect(await violations(schedulerTargetsAuthenticate, SCHEDULER, 's', { name: 's', pubsubTarget: { topicName: 't' } })).toEqual([]);
    expect(await violations(schedulerTargetsAuthenticate, 'gcp:pubsub/topic:Topic', 't', { name: 't' })).toEqual([]);
  });
});

describe('redrive-topic-operators-only', () => {
  const topicMember = 'gcp:pubsub/topicIAMMember:TopicIAMMember';
  const grant = (topic: string, member: string, role = 'roles/pubsub.publisher') => ({ project: 'p', topic, role, member });
  const operators = { operators: ['group:oncall@example.com'] };
  it('passes the operators on redrive topics, and services publishing to their own topics', async () => {
    expect(await violations(redriveTopicsPublishedByOperatorsOnly, topicMember, 'g', grant('c-redrive', 'group:oncall@example.com'), operators)).toEqual([]);
    expect(await violations(redriveTopicsPublishedByOperatorsOnly, topicMember, 'g', grant('projects/p/topics/c-redrive', 'user:ana@example.com'))).toEqual([]);
    expect(
      await violations(redriveTopicsPublishedByOperatorsOnly, topicMember, 'g', grant('c-dlq', 'serviceAccount:mesh-processor@p.iam.gserviceaccount.com')),
    ).toEqual([]);
    // Reading a redrive topic's subscription is not publishing.
    expect(
      await violations(redriveTopicsPublishedByOperatorsOnly, topicMember, 'g', grant('c-redrive', 'user:bob@example.com', 'roles/pubsub.viewer'), operators),
    ).toEqual([]);
  });
  it('fails anyone else who could publish to a redrive topic, however granted', async () => {
    expect(await violations(redriveTopicsPublishedByOperatorsOnly, topicMember, 'g', grant('c-redrive', 'user:bob@example.com'), operators)).toEqual([
      'g grants roles/pubsub.publisher on c-redrive to user:bob@example.com, which is not a replay operator',
    ]);
    // Without the operators in config, a service account is still refused: no service publishes there.
    expect(
      await violations(
        redriveTopicsPublishedByOperatorsOnly,
        topicMember,
        'g',
        grant('projects/p/topics/c-redrive', 'serviceAccount:mesh-processor@p.iam.gserviceaccount.com', 'roles/pubsub.editor'),
      ),
    ).toHaveLength(1);
    expect(
      await violations(
        redriveTopicsPublishedByOperatorsOnly,
        'gcp:pubsub/topicIAMBinding:TopicIAMBinding',
        'b',
        {
          topic: 'c-redrive',
          role: 'roles/pubsub.admin',
          members: ['group:oncall@example.com', 'user:bob@example.com'],
        },
        operators,
      ),
    ).toHaveLength(1);
    const policyData = JSON.stringify({ bindings: [{ role: 'roles/pubsub.publisher', members: ['user:bob@example.com'] }] });
    expect(
      await violations(redriveTopicsPublishedByOperatorsOnly, 'gcp:pubsub/topicIAMPolicy:TopicIAMPolicy', 'p', { topic: 'c-redrive', policyData }, operators),
    ).toHaveLength(1);
  });
  it('fails publish granted on the whole project, which reaches every redrive topic', async () => {
    expect(
      await violations(
        redriveTopicsPublishedByOperatorsOnly,
        'gcp:projects/iAMMember:IAMMember',
        'x',
        { project: 'p', role: 'roles/pubsub.publisher', member: 'group:oncall@example.com' },
        operators,
      ),
    ).toEqual([
      "x grants roles/pubsub.publisher to group:oncall@example.com on the whole project: it could publish to every consumer's redrive topic; grant it on the topics it needs",
    ]);
    expect(
      await violations(redriveTopicsPublishedByOperatorsOnly, 'gcp:projects/iAMMember:IAMMember', 'x', {
        project: 'p',
        role: 'roles/datastore.user',
        member: 'group:oncall@example.com',
      }),
    ).toEqual([]);
  });
});

describe('schema-readers-ready', () => {
  /** mesh.yaml as a file with absolute schema folders, processor-orders reading only `reads`. */
  function specWith(reads: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-policy-'));
    const file = path.join(dir, 'mesh.yaml');
    const text = fs
      .readFileSync(path.join(REPO, 'mesh.yaml'), 'utf8')
      .replace(/dir: schemas\//g, `dir: ${path.join(REPO, 'schemas')}/`)
      .replace(/(processor-orders:\n(?: {4}.*\n)*? {4})reads: \[v1, v2\]/, `$1reads: [${reads}]`);
    fs.writeFileSync(file, text);
    return file;
  }

  it('refuses a topic that accepts a revision one of its consumers does not read, and passes it once every consumer is ready', async () => {
    const topic = 'gcp:pubsub/topic:Topic';
    expect(await violations(schemaReadersReady, topic, 'orders', { name: 'orders' }, { spec: specWith('v1') })).toEqual([
      'orders v2: consumer processor-orders is not ready: it does not declare v2 in reads (reads: v1) [rule readiness]',
    ]);
    expect(await violations(schemaReadersReady, topic, 'orders', { name: 'orders' }, { spec: specWith('v1, v2') })).toEqual([]);
    expect(await violations(schemaReadersReady, topic, 'analytics', { name: 'analytics' }, { spec: specWith('v1') })).toEqual([]);
    expect(await violations(schemaReadersReady, topic, 'orders-dlq', { name: 'orders-dlq' }, { spec: specWith('v1') })).toEqual([]);
  });
});
