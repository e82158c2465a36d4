/**
 * CrossGuard rules for the mesh, kept apart from `new PolicyPack()` (index.ts) because constructing
 * a pack starts its gRPC server at once; tests call each policy's validateResource directly.
 *
 * They check the resources, not the spec: so they also catch a hand-edited program or another
 * stack in the same project. Run them with `pulumi preview --policy-pack infra/policy`.
 *
 * Policy config (`--policy-pack-config <file>`, or the policy group's config in Pulumi Cloud):
 * `data-store-deletion-protection` takes `{"allowUnprotected": true}` for stacks that set
 * `event-mesh:deletionProtection: false` (infra/policy/unprotected-stack.json);
 * `redrive-topic-operators-only` takes `{"operators": [...]}`, the stack's event-mesh:replayOperators
 * (without it, only service accounts are refused: no service publishes to a redrive topic).
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from '@pulumi/policy';
import { schemaReadersReady } from './schema-policies';

export const TYPES = {
  subscription: 'gcp:pubsub/subscription:Subscription',
  cloudRunV2Service: 'gcp:cloudrunv2/service:Service',
  cloudRunV1Service: 'gcp:cloudrun/service:Service',
  cloudRunV2Job: 'gcp:cloudrunv2/job:Job',
  schedulerJob: 'gcp:cloudscheduler/job:Job',
  bigqueryTable: 'gcp:bigquery/table:Table',
  bigqueryDataset: 'gcp:bigquery/dataset:Dataset',
  firestoreDatabase: 'gcp:firestore/database:Database',
  topic: 'gcp:pubsub/topic:Topic',
} as const;

/** Label the program puts on Cloud Run services that pull (infra/services.ts PULLS_LABEL). */
export const PULLS_LABEL = 'mesh-pulls';

/**
 * Suffixes of the subscriptions on dead-letter topics (shared/spec/names.ts): the hold keeps them for
 * triage, the archive copies them to BigQuery as raw rows. A dead letter of a dead letter would loop.
 */
export const DEAD_LETTER_SUBSCRIPTION_SUFFIXES = ['-dlq-hold', '-dlq-archive'];

const PUBLIC_MEMBERS = ['allUsers', 'allAuthenticatedUsers'];

type Props = Record<string, any>;
const onType =
  (type: string, check: (props: Props, args: ResourceValidationArgs, report: ReportViolation) => void) =>
  (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type === type) check(args.props, args, report);
  };
const nameOf = (args: ResourceValidationArgs) => (args.props.name as string | undefined) ?? args.name;

export const subscriptionsHaveDeadLetterPolicy: ResourceValidationPolicy = {
  name: 'subscription-has-dead-letter-policy',
  description: 'Every subscription dead-letters poison messages, except the hold and archive subscriptions of dead-letter topics.',
  enforcementLevel: 'mandatory',
  validateResource: onType(TYPES.subscription, (props, args, report) => {
    if (DEAD_LETTER_SUBSCRIPTION_SUFFIXES.some((suffix) => nameOf(args).endsWith(suffix))) return;
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
    const accesses: Props[] =
      args.type === 'gcp:bigquery/datasetAccess:DatasetAccess' ? [args.props] : args.type === 'gcp:bigquery/dataset:Dataset' ? (args.props.accesses ?? []) : [];
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
    for (const member of members)
      if (PUBLIC_MEMBERS.includes(member)) report(`${args.name} grants ${args.props.role ?? 'a role'} to ${member}: nothing in the mesh is public`);
  },
};

export const pushSubscriptionsHaveOidc: ResourceValidationPolicy = {
  name: 'push-subscription-has-oidc-token',
  description: 'Push subscriptions authenticate to their endpoint with an OIDC token.',
  enforcementLevel: 'mandatory',
  validateResource: onType(TYPES.subscription, (props, args, report) => {
    if (!props.pushConfig) return;
    if (!props.pushConfig.oidcToken?.serviceAccountEmail)
      report(`push subscription ${nameOf(args)} has no oidcToken: its endpoint would have to accept unauthenticated requests`);
  }),
};

const DEFAULT_ACCOUNT = /-compute@developer\.gserviceaccount\.com$|@appspot\.gserviceaccount\.com$/;

export const cloudRunHasOwnServiceAccount: ResourceValidationPolicy = {
  name: 'cloud-run-non-default-service-account',
  description: 'Cloud Run services and jobs run as their own service account, not the default compute account.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    let account: unknown;
    let what = 'service';
    if (args.type === TYPES.cloudRunV2Service) account = args.props.template?.serviceAccount;
    else if (args.type === TYPES.cloudRunV1Service) account = args.props.template?.spec?.serviceAccountName;
    else if (args.type === TYPES.cloudRunV2Job) {
      account = args.props.template?.template?.serviceAccount;
      what = 'job';
    } else return;
    if (typeof account !== 'string' || !account)
      report(`Cloud Run ${what} ${nameOf(args)} sets no service account, so it runs as the project's default compute account`);
    else if (DEFAULT_ACCOUNT.test(account)) report(`Cloud Run ${what} ${nameOf(args)} runs as the default account ${account}`);
  },
};

/**
 * Cloud Scheduler HTTP targets authenticate, with the token their target takes: an OAuth access token
 * for a Google API on *.googleapis.com, an OIDC token for anything else, such as a Cloud Run URL
 * ("OAuth tokens should generally be used only when calling Google APIs hosted on *.googleapis.com",
 * https://cloud.google.com/scheduler/docs/http-target-auth); and never as a default account.
 */
export const schedulerTargetsAuthenticate: ResourceValidationPolicy = {
  name: 'scheduler-http-target-authenticated',
  description: 'Cloud Scheduler HTTP targets send an OAuth token to Google APIs and an OIDC token elsewhere, as a non-default account.',
  enforcementLevel: 'mandatory',
  validateResource: onType(TYPES.schedulerJob, (props, args, report) => {
    const target = props.httpTarget;
    if (!target) return;
    const name = props.name ?? args.name;
    const googleApi = /^https:\/\/[a-z0-9.-]+\.googleapis\.com\//.test(String(target.uri ?? ''));
    const token = googleApi ? target.oauthToken : target.oidcToken;
    if (!token?.serviceAccountEmail) {
      report(
        `scheduler job ${name} calls ${target.uri} without ${googleApi ? 'an OAuth' : 'an OIDC'} token: the call would be refused, or the target open to anyone`,
      );
      return;
    }
    if (DEFAULT_ACCOUNT.test(String(token.serviceAccountEmail))) report(`scheduler job ${name} calls as the default account ${token.serviceAccountEmail}`);
  }),
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

/** Basic roles: each grants thousands of permissions on every resource of the project. */
export const PRIMITIVE_ROLES = ['roles/owner', 'roles/editor', 'roles/viewer'];

export const noPrimitiveRoles: ResourceValidationPolicy = {
  name: 'no-primitive-roles',
  description: 'No IAM member, binding or policy grants roles/owner, roles/editor or roles/viewer.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    if (!IAM_TYPE.test(args.type)) return;
    const roles: string[] = [];
    if (typeof args.props.role === 'string') roles.push(args.props.role);
    if (typeof args.props.policyData === 'string') {
      try {
        const policy = JSON.parse(args.props.policyData) as { bindings?: { role?: string }[] };
        for (const binding of policy.bindings ?? []) if (typeof binding.role === 'string') roles.push(binding.role);
      } catch {
        report(`${args.name}: policyData is not JSON, cannot check its roles`);
      }
    }
    for (const role of roles)
      if (PRIMITIVE_ROLES.includes(role)) report(`${args.name} grants the basic role ${role}: grant a predefined role for what is needed`);
  },
};

export interface DataStoreProtectionConfig {
  /** Set for stacks meant to be torn down (event-mesh:deletionProtection false). */
  allowUnprotected?: boolean;
}

/**
 * What `pulumi destroy` (or anyone) could delete along with its data: a BigQuery table without
 * deletionProtection (the provider default is true), a dataset that drops its tables on destroy, a
 * Firestore database with deletionPolicy DELETE or delete protection off (the API default is off).
 */
function unprotectedDataStore(args: ResourceValidationArgs): string | undefined {
  const p = args.props;
  switch (args.type) {
    case TYPES.bigqueryTable:
      return p.deletionProtection === false ? `BigQuery table ${p.tableId ?? args.name} has deletionProtection false` : undefined;
    case TYPES.bigqueryDataset:
      return p.deleteContentsOnDestroy === true
        ? `BigQuery dataset ${p.datasetId ?? args.name} deletes its tables on destroy (deleteContentsOnDestroy)`
        : undefined;
    case TYPES.firestoreDatabase:
      if (p.deletionPolicy === 'DELETE') return `Firestore database ${nameOf(args)} has deletionPolicy DELETE`;
      return p.deleteProtectionState !== 'DELETE_PROTECTION_ENABLED'
        ? `Firestore database ${nameOf(args)} has no delete protection (deleteProtectionState ${p.deleteProtectionState ?? 'unset, which is disabled'})`
        : undefined;
    default:
      return undefined;
  }
}

export const dataStoresAreProtected: ResourceValidationPolicy = {
  name: 'data-store-deletion-protection',
  description:
    'BigQuery tables and datasets and the Firestore database cannot be deleted with their data, unless the stack opts out (policy config allowUnprotected).',
  enforcementLevel: 'mandatory',
  configSchema: { properties: { allowUnprotected: { type: 'boolean', default: false } } },
  validateResource: (args, report) => {
    const problem = unprotectedDataStore(args);
    if (!problem) return;
    if (args.getConfig<DataStoreProtectionConfig>().allowUnprotected) return;
    report(
      `${problem}; protect it (event-mesh:deletionProtection true) or, for a stack meant to be torn down, run with --policy-pack-config infra/policy/unprotected-stack.json`,
    );
  },
};

export const pullServicesStayOn: ResourceValidationPolicy = {
  name: 'pull-service-always-on',
  description: `Cloud Run services that pull (label ${PULLS_LABEL}=true) keep CPU allocated (cpuIdle false) and at least one instance.`,
  enforcementLevel: 'mandatory',
  validateResource: onType(TYPES.cloudRunV2Service, (props, args, report) => {
    if (props.labels?.[PULLS_LABEL] !== 'true') return;
    const name = nameOf(args);
    const containers: Props[] = props.template?.containers ?? [];
    // Without CPU outside requests a pull stream stalls between requests; a pull service gets none.
    if (!containers.length || containers.some((c) => c.resources?.cpuIdle !== false))
      report(`Cloud Run service ${name} pulls but its CPU is throttled outside requests (set resources.cpuIdle false)`);
    const min = Math.max(props.template?.scaling?.minInstanceCount ?? 0, props.scaling?.minInstanceCount ?? 0);
    // Scaling from zero needs a request; nothing would start a pull service at 0.
    if (min < 1) report(`Cloud Run service ${name} pulls but may scale to zero instances (minInstanceCount ${min}); nothing would start it again`);
  }),
};

/** Suffix of the topics a replay or redrive publishes to, one per consumer (shared/spec/names.ts). */
export const REDRIVE_TOPIC_SUFFIX = '-redrive';

/** Predefined roles that carry pubsub.topics.publish (roles/owner and roles/editor: no-primitive-roles). */
export const PUBLISHING_ROLES = ['roles/pubsub.publisher', 'roles/pubsub.editor', 'roles/pubsub.admin'];

export interface RedrivePublishersConfig {
  /** The stack's event-mesh:replayOperators: the only members that may publish to a redrive topic. */
  operators?: string[];
}

const PROJECT_IAM = /^gcp:projects\/iAM(Member|Binding|Policy):/;
const TOPIC_IAM = /^gcp:pubsub\/topicIAM(Member|Binding|Policy):/;

/** `role -> members` of an IAM member, binding or policy resource. */
function grantsOf(props: Props): { role: string; members: string[] }[] {
  if (typeof props.policyData === 'string') {
    try {
      const policy = JSON.parse(props.policyData) as { bindings?: { role?: string; members?: string[] }[] };
      return (policy.bindings ?? []).map((b) => ({ role: b.role ?? '', members: b.members ?? [] }));
    } catch {
      return [];
    }
  }
  const members = [props.member, ...(Array.isArray(props.members) ? props.members : [])].filter((m): m is string => typeof m === 'string');
  return [{ role: String(props.role ?? ''), members }];
}

export const redriveTopicsPublishedByOperatorsOnly: ResourceValidationPolicy = {
  name: 'redrive-topic-operators-only',
  description:
    "Only the replay operators publish to a consumer's -redrive topic (a replay or redrive reaches that consumer only, from a named identity the audit records); no member gets publish project-wide, which would reach every redrive topic.",
  enforcementLevel: 'mandatory',
  configSchema: { properties: { operators: { type: 'array', items: { type: 'string' } } } },
  validateResource: (args, report) => {
    const projectWide = PROJECT_IAM.test(args.type);
    if (!projectWide && !TOPIC_IAM.test(args.type)) return;
    // The topic as a name (the program passes topic.name, known at preview) or projects/p/topics/name.
    const topic = String(args.props.topic ?? '')
      .split('/')
      .pop()!;
    if (!projectWide && !topic.endsWith(REDRIVE_TOPIC_SUFFIX)) return;
    const operators = args.getConfig<RedrivePublishersConfig>().operators;
    for (const { role, members } of grantsOf(args.props)) {
      if (!PUBLISHING_ROLES.includes(role)) continue;
      for (const member of members) {
        if (projectWide)
          report(
            `${args.name} grants ${role} to ${member} on the whole project: it could publish to every consumer's redrive topic; grant it on the topics it needs`,
          );
        else if (operators ? !operators.includes(member) : member.startsWith('serviceAccount:'))
          report(
            `${args.name} grants ${role} on ${topic} to ${member}, which is not a replay operator${operators ? '' : ' (a service account: no service publishes there; list automation in the policy config operators)'}`,
          );
      }
    }
  },
};

/**
 * Labels the program writes on each topic (infra/launch-readiness.ts): its impact, and on a
 * high-impact topic the launch checklist's verdict, `ready` or the ids of the items not met joined
 * by `_`. The pack cannot read the spec or the repository, so it trusts the program's verdict and
 * refuses a high-impact topic without one (a hand-made topic labelled high must carry it too).
 */
export const IMPACT_LABEL = 'mesh-impact';
export const LAUNCH_CHECKLIST_LABEL = 'mesh-launch-checklist';

export const highImpactTopicsLaunchReady: ResourceValidationPolicy = {
  name: 'high-impact-topic-launch-ready',
  description:
    'A topic labelled mesh-impact=high passes the launch checklist items known from the spec and the repository (owner on call, compatibility rules documented, alerts routed, runbooks, RTO/RPO); replay tested is checked by `mesh readiness --strict --gcp` in the deploy pipeline.',
  enforcementLevel: 'mandatory',
  validateResource: onType(TYPES.topic, (props, args, report) => {
    const labels = (props.labels ?? {}) as Record<string, string>;
    if (labels[IMPACT_LABEL] !== 'high') return;
    const topic = nameOf(args);
    const verdict = labels[LAUNCH_CHECKLIST_LABEL];
    const how = `run \`npm run mesh -- readiness --topic ${topic}\` for what is missing and how to fix it`;
    if (!verdict) report(`high-impact topic ${topic} carries no ${LAUNCH_CHECKLIST_LABEL} label, so its launch checklist is unknown; ${how}`);
    else if (verdict !== 'ready') report(`high-impact topic ${topic} is not launch ready: ${verdict.split('_').join(', ')} not met; ${how}`);
  }),
};

export const policies: ResourceValidationPolicy[] = [
  subscriptionsHaveDeadLetterPolicy,
  exactlyOnceOnlyOnPull,
  noPublicIamMembers,
  pushSubscriptionsHaveOidc,
  cloudRunHasOwnServiceAccount,
  schedulerTargetsAuthenticate,
  bigqueryTablesArePartitioned,
  noPrimitiveRoles,
  dataStoresAreProtected,
  pullServicesStayOn,
  redriveTopicsPublishedByOperatorsOnly,
  schemaReadersReady,
  highImpactTopicsLaunchReady,
];
