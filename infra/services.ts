/**
 * One Cloud Run v2 service per spec service, each with its own runtime service account, plus a
 * dedicated push account per service that receives push: Pub/Sub signs its OIDC tokens with that
 * account and it may invoke that one service only. No allUsers invoker: every request is
 * authenticated by Cloud Run.
 *
 * A service is created after every grant of its runtime account and what they bind to (the
 * subscriptions it pulls, their redrive copies, its dead-letter topics), so its first revision never
 * starts before they exist. IAM still takes minutes to propagate after that: the runtime retries a
 * PERMISSION_DENIED pull with backoff, /healthz stays 200 and /readyz 503 meanwhile.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { toProtoDuration, type ServiceSpec } from '../shared/spec';
import { ingressFor, scalingFor } from './config';
import { meshLabels, labelValue, resourceOptions, type MeshContext } from './context';
import { accountId, bindGrants, memberOf, type GrantTargets } from './iam';
import { specPathInImage } from './images';
import { PULLS_LABEL } from './policy/policies';
import { DASHBOARD_SERVICE, pullsMessages, receivesPush, serviceGrants, type Grant } from './profiles';

export const CONTAINER_PORT = 8080;
/** Cloud Run's default request timeout; a push consumer's ack deadline may need longer. */
const DEFAULT_TIMEOUT_SECONDS = 300;
/** Services that pull carry label PULLS_LABEL=true: the policy pack checks they keep CPU and an instance. */
export { PULLS_LABEL };

/**
 * Health checks (https://cloud.google.com/run/docs/configuring/healthchecks). Both on /healthz, which
 * answers 200 as soon as the server listens: /readyz is 503 while a pull stream waits for IAM to
 * propagate, a state the instance recovers from by itself, so neither restarting it (liveness) nor
 * never starting it (startup) would help. Startup: up to 2 minutes (Cloud Run caps it at 240 s).
 */
export const STARTUP_PROBE = {
  httpGet: { path: '/healthz', port: CONTAINER_PORT },
  initialDelaySeconds: 0,
  periodSeconds: 2,
  timeoutSeconds: 1,
  failureThreshold: 60,
};
export const LIVENESS_PROBE = { httpGet: { path: '/healthz', port: CONTAINER_PORT }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 };

export interface MeshServiceAccounts {
  /** The identity the service's code runs as. */
  runtime: gcp.serviceaccount.Account;
  /** Pub/Sub signs push requests to this service as this account (only for services that receive push). */
  push?: gcp.serviceaccount.Account;
}

export interface MeshService {
  spec: ServiceSpec;
  accounts: MeshServiceAccounts;
  service: gcp.cloudrunv2.Service;
  /** The service's deterministic URL: push endpoint base and OIDC audience. */
  uri: pulumi.Output<string>;
  invoker?: gcp.cloudrunv2.ServiceIamMember;
  /** Every grant of the runtime account; the service depends on all of them. */
  runtimeGrants: pulumi.CustomResource[];
}

/**
 * Cloud Run serves every service at https://<name>-<project number>.<region>.run.app. Using it (rather
 * than the `uri` output) lets the service be told its own push audience without a dependency cycle;
 * it is also declared as a custom audience so Cloud Run accepts tokens minted for it.
 */
export const deterministicUri = (ctx: MeshContext, service: string) => pulumi.interpolate`https://${service}-${ctx.projectNumber}.${ctx.config.region}.run.app`;

export function createServiceAccounts(ctx: MeshContext): Record<string, MeshServiceAccounts> {
  const accounts: Record<string, MeshServiceAccounts> = {};
  for (const service of Object.values(ctx.spec.services)) {
    const runtime = new gcp.serviceaccount.Account(
      `${service.name}-sa`,
      {
        project: ctx.config.project,
        accountId: accountId(`mesh-${service.name}`),
        displayName: `Event mesh ${service.name} (runtime)`,
        description: service.description,
      },
      resourceOptions(ctx),
    );
    const push = receivesPush(ctx.spec, service.name)
      ? new gcp.serviceaccount.Account(
          `${service.name}-push-sa`,
          {
            project: ctx.config.project,
            accountId: accountId(`mesh-${service.name}-push`),
            displayName: `Event mesh push to ${service.name}`,
            description: `Pub/Sub push identity; may invoke ${service.name} only.`,
          },
          resourceOptions(ctx),
        )
      : undefined;
    if (push) {
      // Projects whose Pub/Sub agent predates April 2021 need it to mint tokens for the push account explicitly.
      new gcp.serviceaccount.IAMMember(
        `${service.name}-push-sa-token-creator`,
        { serviceAccountId: push.name, role: 'roles/iam.serviceAccountTokenCreator', member: ctx.pubsubAgent },
        resourceOptions(ctx, ...ctx.pubsubAgentReady),
      );
    }
    accounts[service.name] = { runtime, push };
  }
  return accounts;
}

/** Environment of a service's container. */
export function serviceEnv(ctx: MeshContext, spec: ServiceSpec, push: { audience: pulumi.Input<string>; email: pulumi.Input<string> } | undefined) {
  const envs: gcp.types.input.cloudrunv2.ServiceTemplateContainerEnv[] = [
    { name: 'GOOGLE_CLOUD_PROJECT', value: ctx.config.project },
    { name: 'MESH_SERVICE', value: spec.name },
    { name: 'MESH_SPEC', value: specPathInImage(ctx.spec) },
    { name: 'BIGQUERY_DATASET', value: ctx.spec.warehouse.dataset },
  ];
  if (push) {
    envs.push(
      // The service verifies every push request's OIDC token against these.
      { name: 'MESH_PUSH_AUDIENCE', value: push.audience },
      { name: 'MESH_PUSH_SERVICE_ACCOUNT', value: push.email },
      // Cloud Run verifies the token itself (the run.invoker check) and hands it to the container with its
      // signature stripped (SIGNATURE_REMOVED_BY_GOOGLE), so checking the signature again refuses every push;
      // the container checks the claims (aud, iss, email, exp). https://cloud.google.com/iap/docs/enabling-cloud-run:
      // "Cloud Run passes this header to your service after stripping its signature"; see also
      // https://cloud.google.com/run/docs/authenticating/service-to-service
      { name: 'MESH_PUSH_TOKEN_CHECK', value: 'claims' },
    );
  }
  return envs;
}

export function createServices(
  ctx: MeshContext,
  accounts: Record<string, MeshServiceAccounts>,
  images: Record<string, pulumi.Input<string>>,
  targets: Partial<GrantTargets>,
): Record<string, MeshService> {
  const services: Record<string, MeshService> = {};
  for (const spec of Object.values(ctx.spec.services)) {
    // Every role of the runtime account, on the project, the dataset and the Pub/Sub resources it uses.
    const runtimeGrants = bindGrants(ctx, `${spec.name}-sa`, memberOf(accounts[spec.name].runtime), serviceGrants(ctx.spec, spec.name), targets);
    // A stable side follows its consumers' canaries (shared/canary/runtime.ts) once the stack deploys one.
    const followsCanaries = Object.keys(ctx.config.canaries).some((c) => ctx.spec.consumers[c]?.service === spec.name);
    services[spec.name] = createCloudRunService(ctx, {
      name: spec.name,
      spec,
      accounts: accounts[spec.name],
      image: images[spec.name],
      runtimeGrants,
      extraEnv: followsCanaries ? [{ name: 'MESH_CANARIES', value: 'on' }] : [],
      access: dashboardAccessOf(ctx, spec.name),
    });
  }
  return services;
}

export interface CloudRunServiceArgs {
  /** Cloud Run service name (and Pulumi name). */
  name: string;
  /** The spec service whose code, consumers and settings it runs. */
  spec: ServiceSpec;
  accounts: MeshServiceAccounts;
  image: pulumi.Input<string>;
  /** What its first revision waits for. */
  runtimeGrants: pulumi.CustomResource[];
  extraEnv?: gcp.types.input.cloudrunv2.ServiceTemplateContainerEnv[];
  /** Only the consumers it pulls (a canary pulls one); default the spec service's. */
  pulls?: boolean;
  deletionProtection?: boolean;
  access?: DashboardAccessPlan;
}

/** One Cloud Run service running a spec service's code: its own, or a canary of one of its consumers (canaries.ts). */
export function createCloudRunService(ctx: MeshContext, args: CloudRunServiceArgs): MeshService {
  const { project, region } = ctx.config;
  const { spec, name, access } = args;
  const { runtime, push } = args.accounts;
  const uri = deterministicUri(ctx, name);
  const pulls = args.pulls ?? pullsMessages(ctx.spec, spec.name);
  const scaling = scalingFor(ctx.config, ctx.spec, spec.name);
  const pushAckDeadlines = spec.consumers.filter((c) => ctx.spec.consumers[c].delivery === 'push').map((c) => ctx.spec.consumers[c].ackDeadlineSeconds);
  const service = new gcp.cloudrunv2.Service(
    name,
    {
      project,
      location: region,
      name,
      description: spec.description,
      ingress: ingressFor(ctx.config, spec.name),
      // The one switch for teardown (docs/infra.md "Tearing down"); checked in state, so `pulumi up` it first.
      deletionProtection: args.deletionProtection ?? ctx.config.deletionProtection,
      customAudiences: push ? [uri] : undefined,
      iapEnabled: access?.iap ? true : undefined,
      labels: meshLabels({ 'mesh-service': labelValue(spec.name), ...(pulls ? { [PULLS_LABEL]: 'true' } : {}) }),
      template: {
        serviceAccount: runtime.email,
        maxInstanceRequestConcurrency: spec.concurrency,
        // A push request is held until the ack; give it at least the longest ack deadline.
        timeout: toProtoDuration(Math.max(DEFAULT_TIMEOUT_SECONDS, ...pushAckDeadlines)),
        scaling: { minInstanceCount: pulls ? Math.max(1, scaling.minInstances) : scaling.minInstances, maxInstanceCount: scaling.maxInstances },
        containers: [
          {
            image: args.image,
            envs: [...serviceEnv(ctx, spec, push ? { audience: uri, email: push.email } : undefined), ...(args.extraEnv ?? [])],
            ports: { containerPort: CONTAINER_PORT },
            startupProbe: STARTUP_PROBE,
            livenessProbe: LIVENESS_PROBE,
            resources: {
              limits: { cpu: '1', memory: '512Mi' },
              // Pull subscribers and background flushes run outside requests: keep CPU allocated for them.
              // With CPU always allocated Cloud Run also scales on CPU utilization (target 60%) between
              // min and max instances: https://cloud.google.com/run/docs/about-instance-autoscaling
              cpuIdle: !pulls,
              startupCpuBoost: true,
            },
          },
        ],
      },
    },
    resourceOptions(ctx, ...args.runtimeGrants, ...(access?.ready ?? [])),
  );
  const cloudRunServices = { [name]: service };
  const invoker = push
    ? (bindGrants(ctx, `${name}-push-sa`, memberOf(push), [{ role: 'roles/run.invoker', on: { kind: 'cloud-run-service', name }, reason: 'push delivery' }], {
        cloudRunServices,
      })[0] as gcp.cloudrunv2.ServiceIamMember)
    : undefined;
  if (access) for (const [who, member, grant] of access.grants) bindGrants(ctx, who, member, [grant], { cloudRunServices });
  return { spec, accounts: args.accounts, service, uri, invoker, runtimeGrants: args.runtimeGrants };
}

interface DashboardAccessPlan {
  iap: boolean;
  /** What must exist before the service (the IAP API and its service agent). */
  ready: pulumi.Resource[];
  /** [resource name prefix, member, grant] */
  grants: [string, pulumi.Input<string>, Grant][];
}

/**
 * How event-mesh:dashboardViewers reach the dashboard (undefined for other services or without viewers):
 *   iam: viewers get run.invoker on it and open it through `gcloud run services proxy` (ID token of the
 *        viewer; https://cloud.google.com/run/docs/authenticating/developers);
 *   iap: IAP on the service itself (https://cloud.google.com/run/docs/securing/identity-aware-proxy-cloud-run):
 *        viewers get roles/iap.httpsResourceAccessor, and the IAP service agent run.invoker, since IAP calls
 *        Cloud Run as that agent. Refused while the dashboard receives push (configProblems).
 */
function dashboardAccessOf(ctx: MeshContext, service: string): DashboardAccessPlan | undefined {
  const { dashboardViewers, dashboardAccess, project } = ctx.config;
  if (service !== DASHBOARD_SERVICE || !dashboardViewers.length) return undefined;
  const viewerName = (member: string) => `${DASHBOARD_SERVICE}-viewer-${member.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  if (dashboardAccess === 'iam') {
    return {
      iap: false,
      ready: [],
      grants: dashboardViewers.map((m) => [
        viewerName(m),
        m,
        { role: 'roles/run.invoker', on: { kind: 'cloud-run-service', name: service }, reason: 'opens the dashboard' },
      ]),
    };
  }
  // iap.googleapis.com is enabled with the other APIs (apis.ts), and resourceOptions waits for them.
  const agent = new gcp.projects.ServiceIdentity('iap-agent', { project, service: 'iap.googleapis.com' }, resourceOptions(ctx));
  const agentMember = pulumi.interpolate`serviceAccount:service-${ctx.projectNumber}@gcp-sa-iap.iam.gserviceaccount.com`;
  return {
    iap: true,
    ready: [agent],
    grants: [
      ['iap-agent', agentMember, { role: 'roles/run.invoker', on: { kind: 'cloud-run-service', name: service }, reason: 'IAP forwards viewers' }],
      ...dashboardViewers.map((m): [string, string, Grant] => [
        viewerName(m),
        m,
        { role: 'roles/iap.httpsResourceAccessor', on: { kind: 'iap-cloud-run-service', name: service }, reason: 'opens the dashboard' },
      ]),
    ],
  };
}
