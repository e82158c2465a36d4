/**
 * What each service may do in GCP, as data. The spec says which consumers a service handles; these
 * profiles add what its own code needs beyond Pub/Sub (Firestore, BigQuery, Monitoring). Everything
 * else is derived from the spec, so a service not listed here gets only the derived grants.
 *
 * Pure (no Pulumi imports) so tests, `mesh plan` and docs can reason about grants without a program.
 */
import type { MeshSpec } from '../shared/spec';
import { consumerResources } from '../shared/spec';

export type CloudRunIngress = 'INGRESS_TRAFFIC_ALL' | 'INGRESS_TRAFFIC_INTERNAL_ONLY' | 'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER';

export interface ServiceProfile {
  /** Roles on the project (Firestore and Monitoring have no finer-grained resource to bind to). */
  projectRoles: string[];
  /** Roles on the warehouse dataset. */
  datasetRoles: string[];
  /** Ingress when stack config does not say: only a service people open in a browser needs a load balancer. */
  defaultIngress: CloudRunIngress;
}

/** The service people open in a browser (event-mesh:dashboardViewers). */
export const DASHBOARD_SERVICE = 'dashboard';

export const SERVICE_PROFILES: Record<string, ServiceProfile> = {
  // Live aggregates in Firestore and consumer health from Cloud Monitoring; serves a web page.
  dashboard: { projectRoles: ['roles/datastore.user', 'roles/monitoring.viewer'], datasetRoles: [], defaultIngress: 'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER' },
  // Exactly-once effects deduplicated in Firestore.
  processor: { projectRoles: ['roles/datastore.user'], datasetRoles: [], defaultIngress: 'INGRESS_TRAFFIC_INTERNAL_ONLY' },
  // Streams rows into the dataset (tabledata.insertAll) and creates/patches its tables and views: all
  // dataset-level permissions of dataEditor. It runs no BigQuery job (no query, load or copy), so it
  // needs no roles/bigquery.jobUser on the project (services/warehouse: table.insert, getMetadata,
  // setMetadata, createTable only).
  warehouse: { projectRoles: [], datasetRoles: ['roles/bigquery.dataEditor'], defaultIngress: 'INGRESS_TRAFFIC_INTERNAL_ONLY' },
};

/** Services receiving only Pub/Sub push need no public path: push reaches internal-only services. */
export const DEFAULT_PROFILE: ServiceProfile = { projectRoles: [], datasetRoles: [], defaultIngress: 'INGRESS_TRAFFIC_INTERNAL_ONLY' };

export const profileOf = (service: string): ServiceProfile => SERVICE_PROFILES[service] ?? DEFAULT_PROFILE;

export type GrantTarget =
  | { kind: 'project' }
  | { kind: 'dataset' }
  | { kind: 'subscription'; name: string }
  | { kind: 'topic'; name: string }
  | { kind: 'cloud-run-service'; name: string }
  | { kind: 'iap-cloud-run-service'; name: string };

export interface Grant {
  role: string;
  on: GrantTarget;
  /** Why, shown by `mesh plan` and in test failures. */
  reason: string;
}

/** Every role a service's runtime account holds, and on what. Nothing else is granted to it. */
export function serviceGrants(spec: MeshSpec, service: string): Grant[] {
  const profile = profileOf(service);
  const grants: Grant[] = [
    ...profile.projectRoles.map((role): Grant => ({ role, on: { kind: 'project' }, reason: `${service} profile` })),
    ...profile.datasetRoles.map((role): Grant => ({ role, on: { kind: 'dataset' }, reason: `${service} profile` })),
  ];
  for (const name of spec.services[service]?.consumers ?? []) {
    const consumer = spec.consumers[name];
    const names = consumerResources(consumer);
    // Pull consumers are read by the service itself, from the subscription and its private redrive copy.
    if (consumer.delivery === 'pull') {
      grants.push({ role: 'roles/pubsub.subscriber', on: { kind: 'subscription', name: names.subscription }, reason: `pulls ${name}` });
      grants.push({ role: 'roles/pubsub.subscriber', on: { kind: 'subscription', name: names.redriveSubscription }, reason: `pulls ${name} redrives` });
    }
    // The runtime's poison fast path publishes a message it can never handle straight to the dead-letter topic.
    grants.push({ role: 'roles/pubsub.publisher', on: { kind: 'topic', name: names.deadLetterTopic }, reason: `dead-letters ${name}` });
  }
  return grants;
}

/** Services that pull: they need CPU outside requests and at least one running instance. */
export const pullsMessages = (spec: MeshSpec, service: string): boolean =>
  (spec.services[service]?.consumers ?? []).some((c) => spec.consumers[c].delivery === 'pull');

export const receivesPush = (spec: MeshSpec, service: string): boolean =>
  (spec.services[service]?.consumers ?? []).some((c) => spec.consumers[c].delivery === 'push');
