/**
 * CrossGuard rules for the mesh, kept apart from `new PolicyPack()` (index.ts) because constructing
 * a pack starts its gRPC server at once; tests call each policy's validateResource directly.
 *
 * They check the resources, not the spec: so they also catch a hand-edited program or another
 * stack in the same project. Run them with `pulumi preview --policy-pack infra/policy`.
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from '@pulumi/policy';

export const TYPES = {
  subscription: 'gcp:pubsub/subscription:Subscription',
  cloudRunV2Service: 'gcp:cloudrunv2/service:Service',
  cloudRunV1Service: 'gcp:cloudrun/service:Service',
  bigqueryTable: 'gcp:bigquery/table:Table',
} as const;

/** Suffix of the subscriptions that only hold dead letters (shared/spec/names.ts). */
export const DEAD_LETTER_HOLD_SUFFIX = '-dlq-hold';

const PUBLIC_MEMBERS = ['allUsers', 'allAuthenticatedUsers'];

type Props = Record<string, any>;
const onType = (type: string, check: (props: Props, args: ResourceValidationArgs, report: ReportViolation) => void) => (args: ResourceValidationArgs, report: ReportViolation) => {
  if (args.type === type) check(args.props, args, report);
};
const nameOf = (args: ResourceValidationArgs) => (args.props.name as string | undefined) ?? args.name;

export const subscriptionsHaveDeadLetterPolicy: ResourceValidationPolicy = {
  name: 'subscription-has-dead-letter-policy',
  description: 'Every subscription dead-letters poison messages, except the hold subscriptions of dead-letter topics.',
  enforcementLevel: 'mandatory',
  validateResource: onType(TYPES.subscription, (props, args, report) => {
    if (nameOf(args).endsWith(DEAD_LETTER_HOLD_SUFFIX)) return;
    if (!props.deadLetterPolicy?.deadLetterTopic) report(`subscription ${nameOf(args)} has no deadLetterPolicy: a poison message would be redelivered forever`);
  }),
};

export const exactlyOnceOnlyOnPull: ResourceValidationPolicy = {
  name: 'exactly-once-pull-only',
  description: 'Exactly-once delivery works only for pull subscriptions.',
  enforcementLevel: 'mandatory',
  validateResource: onType(TYPES.subscription, (props, args, report) => {
    if (!props.enableExactlyOnceDelivery) return;
    if (props.pushConfig) report(`subscription ${nameOf(args)} enables exactly-once delivery with a pushConfig; Pub/Sub supports it for pull only`);
    if (props.bigqueryConfig) report(`subscription ${nameOf(args)} enables exactly-once delivery with a bigqueryConfig; Pub/Sub supports it for pull only`);
  }),
};

/** Any IAM member/binding/policy resource of any provider: gcp:<module>/<x>iamMember|Binding|Policy:... */
const IAM_TYPE = /^gcp:[^/]+\/[^:]*iam(member|binding|policy)[^:]*:/i;

export const noPublicIamMembers: ResourceValidationPolicy = {
  name: 'no-public-iam-members',
  description: 'No role is granted to allUsers or allAuthenticatedUsers.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    const members: string[] = [];
    // BigQuery dataset access entries are IAM too: iamMember, or specialGroup allAuthenticatedUsers.
    const accesses: Props[] = args.type === 'gcp:bigquery/datasetAccess:DatasetAccess' ? [args.props] : args.type === 'gcp:bigquery/dataset:Dataset' ? (args.props.accesses ?? []) : [];
    for (const access of accesses) members.push(...[access.iamMember, access.specialGroup].filter((m): m is string => typeof m === 'string'));
    if (!IAM_TYPE.test(args.type) && !accesses.length) return;
    if (typeof args.props.member === 'string') members.push(args.props.member);
    if (Array.isArray(args.props.members)) members.push(...args.props.members.filter((m: unknown): m is string => typeof m === 'string'));
    if (typeof args.props.policyData === 'string') {
      try {
        const policy = JSON.parse(args.props.policyData) as { bindings?: { members?: string[] }[] };
        for (const binding of policy.bindings ?? []) members.push(...(binding.members ?? []));
      } catch {
        report(`${args.name}: policyData is not JSON, cannot check its members`);
      }
    }
    for (const member of members) if (PUBLIC_MEMBERS.includes(member)) report(`${args.name} grants ${args.props.role ?? 'a role'} to ${member}: nothing in the mesh is public`);
  },
};

export const pushSubscriptionsHaveOidc: ResourceValidationPolicy = {
  name: 'push-subscription-has-oidc-token',
  description: 'Push subscriptions authenticate to their endpoint with an OIDC token.',
  enforcementLevel: 'mandatory',
  validateResource: onType(TYPES.subscription, (props, args, report) => {
    if (!props.pushConfig) return;
    if (!props.pushConfig.oidcToken?.serviceAccountEmail) report(`push subscription ${nameOf(args)} has no oidcToken: its endpoint would have to accept unauthenticated requests`);
  }),
};

const DEFAULT_ACCOUNT = /-compute@developer\.gserviceaccount\.com$|@appspot\.gserviceaccount\.com$/;

export const cloudRunHasOwnServiceAccount: ResourceValidationPolicy = {
  name: 'cloud-run-non-default-service-account',
  description: 'Cloud Run services run as their own service account, not the default compute account.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    let account: unknown;
    if (args.type === TYPES.cloudRunV2Service) account = args.props.template?.serviceAccount;
    else if (args.type === TYPES.cloudRunV1Service) account = args.props.template?.spec?.serviceAccountName;
    else return;
    if (typeof account !== 'string' || !account) report(`Cloud Run service ${nameOf(args)} sets no service account, so it runs as the project's default compute account`);
    else if (DEFAULT_ACCOUNT.test(account)) report(`Cloud Run service ${nameOf(args)} runs as the default account ${account}`);
  },
};

export const bigqueryTablesArePartitioned: ResourceValidationPolicy = {
  name: 'bigquery-table-time-partitioned',
  description: 'BigQuery tables are time-partitioned (views excepted), so queries and retention stay cheap.',
  enforcementLevel: 'mandatory',
  validateResource: onType(TYPES.bigqueryTable, (props, args, report) => {
    if (props.view || props.materializedView) return;
    if (!props.timePartitioning?.type) report(`BigQuery table ${props.tableId ?? args.name} has no timePartitioning`);
  }),
};

export const policies: ResourceValidationPolicy[] = [
  subscriptionsHaveDeadLetterPolicy,
  exactlyOnceOnlyOnPull,
  noPublicIamMembers,
  pushSubscriptionsHaveOidc,
  cloudRunHasOwnServiceAccount,
  bigqueryTablesArePartitioned,
];
