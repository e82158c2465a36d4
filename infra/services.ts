/**
 * One Cloud Run v2 service per spec service, each with its own runtime service account, plus a
 * dedicated push account per service that receives push: Pub/Sub signs its OIDC tokens with that
 * account and it may invoke that one service only. No allUsers invoker: every request is
 * authenticated by Cloud Run.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { toProtoDuration, type ServiceSpec } from '../shared/spec';
import { ingressFor, scalingFor } from './config';
import { meshLabels, labelValue, resourceOptions, type MeshContext } from './context';
import { accountId, bindGrants, memberOf } from './iam';
import { specPathInImage } from './images';
import { pullsMessages, receivesPush, serviceGrants } from './profiles';

export const CONTAINER_PORT = 8080;
/** Cloud Run's default request timeout; a push consumer's ack deadline may need longer. */
const DEFAULT_TIMEOUT_SECONDS = 300;

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
      { project: ctx.config.project, accountId: accountId(`mesh-${service.name}`), displayName: `Event mesh ${service.name} (runtime)`, description: service.description },
      resourceOptions(ctx),
    );
    const push = receivesPush(ctx.spec, service.name)
      ? new gcp.serviceaccount.Account(
          `${service.name}-push-sa`,
          { project: ctx.config.project, accountId: accountId(`mesh-${service.name}-push`), displayName: `Event mesh push to ${service.name}`, description: `Pub/Sub push identity; may invoke ${service.name} only.` },
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

export function createServices(
  ctx: MeshContext,
  accounts: Record<string, MeshServiceAccounts>,
  images: Record<string, pulumi.Input<string>>,
  dataset: gcp.bigquery.Dataset | undefined,
): Record<string, MeshService> {
  const services: Record<string, MeshService> = {};
  const { project, region } = ctx.config;
  for (const spec of Object.values(ctx.spec.services)) {
    const { runtime, push } = accounts[spec.name];
    // Project and dataset roles exist before the first revision starts; Pub/Sub grants follow the subscriptions.
    const earlyGrants = serviceGrants(ctx.spec, spec.name).filter((g) => g.on.kind === 'project' || g.on.kind === 'dataset');
    const baseGrants = bindGrants(ctx, `${spec.name}-sa`, memberOf(runtime), earlyGrants, { dataset });
    const uri = deterministicUri(ctx, spec.name);
    const pulls = pullsMessages(ctx.spec, spec.name);
    const scaling = scalingFor(ctx.config, ctx.spec, spec.name);
    const pushAckDeadlines = spec.consumers.filter((c) => ctx.spec.consumers[c].delivery === 'push').map((c) => ctx.spec.consumers[c].ackDeadlineSeconds);
    const envs: gcp.types.input.cloudrunv2.ServiceTemplateContainerEnv[] = [
      { name: 'GOOGLE_CLOUD_PROJECT', value: project },
      { name: 'MESH_SERVICE', value: spec.name },
      { name: 'MESH_SPEC', value: specPathInImage(ctx.spec) },
      { name: 'BIGQUERY_DATASET', value: ctx.spec.warehouse.dataset },
    ];
    if (push) {
      // The service verifies every push request's OIDC token against these.
      envs.push({ name: 'MESH_PUSH_AUDIENCE', value: uri }, { name: 'MESH_PUSH_SERVICE_ACCOUNT', value: push.email });
    }
    const service = new gcp.cloudrunv2.Service(
      spec.name,
      {
        project,
        location: region,
        name: spec.name,
        description: spec.description,
        ingress: ingressFor(ctx.config, spec.name),
        deletionProtection: ctx.config.deletionProtection,
        customAudiences: push ? [uri] : undefined,
        labels: meshLabels({ 'mesh-service': labelValue(spec.name) }),
        template: {
          serviceAccount: runtime.email,
          maxInstanceRequestConcurrency: spec.concurrency,
          // A push request is held until the ack; give it at least the longest ack deadline.
          timeout: toProtoDuration(Math.max(DEFAULT_TIMEOUT_SECONDS, ...pushAckDeadlines)),
          scaling: { minInstanceCount: scaling.minInstances, maxInstanceCount: scaling.maxInstances },
          containers: [
            {
              image: images[spec.name],
              envs,
              ports: { containerPort: CONTAINER_PORT },
              resources: {
                limits: { cpu: '1', memory: '512Mi' },
                // Pull subscribers and background flushes run outside requests: keep CPU allocated for them.
                cpuIdle: !pulls,
                startupCpuBoost: true,
              },
            },
          ],
        },
      },
      resourceOptions(ctx, ...baseGrants),
    );
    const invoker = push
      ? (bindGrants(ctx, `${spec.name}-push-sa`, memberOf(push), [{ role: 'roles/run.invoker', on: { kind: 'cloud-run-service', name: spec.name }, reason: 'push delivery' }], {
          cloudRunServices: { [spec.name]: service },
        })[0] as gcp.cloudrunv2.ServiceIamMember)
      : undefined;
    services[spec.name] = { spec, accounts: accounts[spec.name], service, uri, invoker };
  }
  return services;
}
