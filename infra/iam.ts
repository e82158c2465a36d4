/**
 * IAM, always as additive *IamMember resources (never authoritative policies that would wipe grants
 * made outside this stack) and always to a named account: nothing here can grant allUsers or
 * allAuthenticatedUsers (the policy pack checks it too).
 */
import { createHash } from 'node:crypto';
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { resourceOptions, type MeshContext } from './context';
import type { Grant } from './profiles';

/** The Pub/Sub service agent: it writes dead letters, reads source subscriptions, signs push tokens, writes BigQuery. */
export const pubsubAgentMember = (projectNumber: pulumi.Input<string>) =>
  pulumi.interpolate`serviceAccount:service-${projectNumber}@gcp-sa-pubsub.iam.gserviceaccount.com`;

/** Service account ids are 6..30 of [a-z0-9-], starting with a letter and not ending with '-'. */
export function accountId(base: string): string {
  let id = base.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (!/^[a-z]/.test(id)) id = `sa-${id}`;
  if (id.length > 30) id = `${id.slice(0, 24).replace(/-+$/, '')}-${createHash('sha256').update(base).digest('hex').slice(0, 5)}`;
  id = id.replace(/-+$/, '');
  return id.length >= 6 ? id : id.padEnd(6, '0');
}

export const memberOf = (account: gcp.serviceaccount.Account) => pulumi.interpolate`serviceAccount:${account.email}`;

const short = (role: string) => role.replace(/^roles\//, '').replace(/\./g, '-');

/** What the grants of a principal can be bound to; the dataset only exists when the spec has a warehouse. */
export interface GrantTargets {
  subscriptions: Record<string, gcp.pubsub.Subscription>;
  topics: Record<string, gcp.pubsub.Topic>;
  dataset?: gcp.bigquery.Dataset;
  /** Tables and views of the dataset by table id. */
  tables?: Record<string, gcp.bigquery.Table>;
  cloudRunServices?: Record<string, gcp.cloudrunv2.Service>;
}

/**
 * Creates one IAM member resource per grant; `who` names them (e.g. "processor-sa"). Each grant depends
 * explicitly on what it binds to (besides the implicit dependency through its id), so whoever depends
 * on the grant is ordered after the resource too, and the mocks can see it.
 */
export function bindGrants(
  ctx: MeshContext,
  who: string,
  member: pulumi.Input<string>,
  grants: Grant[],
  targets: Partial<GrantTargets>,
  ...dependsOn: pulumi.Resource[]
): pulumi.CustomResource[] {
  const { project, region } = ctx.config;
  const opts = (target?: pulumi.Resource) => resourceOptions(ctx, ...dependsOn, ...(target ? [target] : []));
  return grants.map((grant) => {
    const on = grant.on;
    switch (on.kind) {
      case 'project':
        return new gcp.projects.IAMMember(`${who}-${short(grant.role)}`, { project, role: grant.role, member }, opts());
      case 'dataset': {
        if (!targets.dataset) throw new Error(`grant ${grant.role} to ${who} needs the warehouse dataset`);
        return new gcp.bigquery.DatasetIamMember(
          `${who}-${short(grant.role)}-dataset`,
          { project, datasetId: targets.dataset.datasetId, role: grant.role, member },
          opts(targets.dataset),
        );
      }
      case 'table': {
        const table = targets.tables?.[on.name];
        if (!table || !targets.dataset) throw new Error(`grant ${grant.role} to ${who}: unknown table ${on.name}`);
        return new gcp.bigquery.IamMember(
          `${who}-${short(grant.role)}-${on.name}`,
          { project, datasetId: targets.dataset.datasetId, tableId: table.tableId, role: grant.role, member },
          opts(table),
        );
      }
      case 'subscription': {
        const sub = targets.subscriptions?.[on.name];
        if (!sub) throw new Error(`grant ${grant.role} to ${who}: unknown subscription ${on.name}`);
        return new gcp.pubsub.SubscriptionIAMMember(
          `${who}-${short(grant.role)}-${on.name}`,
          { project, subscription: sub.id, role: grant.role, member },
          opts(sub),
        );
      }
      case 'topic': {
        const topic = targets.topics?.[on.name];
        if (!topic) throw new Error(`grant ${grant.role} to ${who}: unknown topic ${on.name}`);
        // By name, as Pulumi's examples do: known at preview (an id is not), so the policy pack sees which topic.
        return new gcp.pubsub.TopicIAMMember(`${who}-${short(grant.role)}-${on.name}`, { project, topic: topic.name, role: grant.role, member }, opts(topic));
      }
      case 'cloud-run-service': {
        const service = targets.cloudRunServices?.[on.name];
        if (!service) throw new Error(`grant ${grant.role} to ${who}: unknown Cloud Run service ${on.name}`);
        return new gcp.cloudrunv2.ServiceIamMember(
          `${who}-${short(grant.role)}-${on.name}`,
          { project, location: region, name: service.name, role: grant.role, member },
          opts(service),
        );
      }
      case 'iap-cloud-run-service': {
        // Access through IAP is IAM on the IAP resource of the service, not on the service itself.
        const service = targets.cloudRunServices?.[on.name];
        if (!service) throw new Error(`grant ${grant.role} to ${who}: unknown Cloud Run service ${on.name}`);
        return new gcp.iap.WebCloudRunServiceIamMember(
          `${who}-${short(grant.role)}-${on.name}`,
          { project, location: region, cloudRunServiceName: service.name, role: grant.role, member },
          opts(service),
        );
      }
    }
  });
}
