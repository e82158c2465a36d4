/**
 * What each service may do in GCP, as data, all derived from the spec: its consumers give the
 * Pub/Sub grants, and its `uses` (firestore, bigquery, monitoring) the roles its own code needs, so
 * a service added to the spec needs no change here (docs/adding-a-consumer.md).
 *
 * Pure (no Pulumi imports) so tests, `mesh plan` and docs can reason about grants without a program.
 */
import type { MeshSpec, ServiceDependency } from '../shared/spec';
import { consumerResources, DEAD_LETTER_ARCHIVE_SERVICE } from '../shared/spec';
import { parityConsumers } from '../shared/parity';
import { OPERATIONS_AUDIT_TABLE, PARITY_RESULTS_TABLE, REPLAY_AUDIT_TABLE } from '../shared/warehouse';

export type CloudRunIngress = 'INGRESS_TRAFFIC_ALL' | 'INGRESS_TRAFFIC_INTERNAL_ONLY' | 'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER';

/**
 * The roles each `uses` entry of a service in the spec gives its runtime account. Firestore and
 * Monitoring have no finer-grained resource to bind to than the project.
 */
export const DEPENDENCY_ROLES: Record<ServiceDependency, { projectRoles: string[]; datasetRoles: string[] }> = {
  // Reads and writes documents (datastore.entities.*); no index or database admin.
  firestore: { projectRoles: ['roles/datastore.user'], datasetRoles: [] },
  // Streams rows into the dataset (tabledata.insertAll) and creates/patches its tables and views: all
  // dataset-level permissions of dataEditor. No BigQuery job (query, load, copy), so no
  // roles/bigquery.jobUser on the project (services/warehouse: table.insert, getMetadata,
  // setMetadata, createTable only).
  bigquery: { projectRoles: [], datasetRoles: ['roles/bigquery.dataEditor'] },
  // Reads consumer health (subscription metrics) for the dashboard.
  monitoring: { projectRoles: ['roles/monitoring.viewer'], datasetRoles: [] },
};

/** The service people open in a browser (event-mesh:dashboardViewers). */
export const DASHBOARD_SERVICE = 'dashboard';

/**
 * Ingress when stack config does not say: only the service people open in a browser needs a load
 * balancer; services receiving only Pub/Sub push need no public path (push reaches internal-only services).
 */
export const defaultIngressOf = (service: string): CloudRunIngress =>
  service === DASHBOARD_SERVICE ? 'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER' : 'INGRESS_TRAFFIC_INTERNAL_ONLY';

export type GrantTarget =
  | { kind: 'project' }
  | { kind: 'dataset' }
  | { kind: 'table'; name: string }
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
  const grants: Grant[] = [];
  for (const use of spec.services[service]?.uses ?? []) {
    const roles = DEPENDENCY_ROLES[use];
    grants.push(...roles.projectRoles.map((role): Grant => ({ role, on: { kind: 'project' }, reason: `uses ${use}` })));
    grants.push(...roles.datasetRoles.map((role): Grant => ({ role, on: { kind: 'dataset' }, reason: `uses ${use}` })));
  }
  // A pulling service listens to its pull consumers' controls (consumerControls/<c>, paused or not:
  // shared/operations/controls.ts) in Firestore. datastore.user (uses: firestore) covers that;
  // otherwise Cloud Datastore Viewer, "read access to Datastore resources"
  // (https://cloud.google.com/iam/docs/roles-permissions/datastore): datastore.entities.get and .list,
  // what document reads, queries and listens need (https://cloud.google.com/firestore/docs/security/iam).
  // Firestore has no finer resource than the project to bind it to.
  if (pullsMessages(spec, service) && !spec.services[service].uses.includes('firestore'))
    grants.push({ role: 'roles/datastore.viewer', on: { kind: 'project' }, reason: "reads its pull consumers' controls (paused or not)" });
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
  // The warehouse copies every consumer's dead letters into dead_letters (uses: bigquery gives it the table).
  if (service === DEAD_LETTER_ARCHIVE_SERVICE)
    for (const consumer of Object.values(spec.consumers)) {
      const subscription = consumerResources(consumer).deadLetterArchive;
      grants.push({ role: 'roles/pubsub.subscriber', on: { kind: 'subscription', name: subscription }, reason: `archives ${consumer.name}'s dead letters` });
    }
  return grants;
}

/** Services that pull: they need CPU outside requests and at least one running instance. */
export const pullsMessages = (spec: MeshSpec, service: string): boolean =>
  (spec.services[service]?.consumers ?? []).some((c) => spec.consumers[c].delivery === 'pull');

export const receivesPush = (spec: MeshSpec, service: string): boolean =>
  (spec.services[service]?.consumers ?? []).some((c) => spec.consumers[c].delivery === 'push');

/**
 * Every role the parity job's account holds (infra/parity.ts), and on what: it reads every sink and
 * writes only its own results. BigQuery: reading the views needs read on the view and on the table it
 * selects from (both in the dataset, so dataViewer there), and a query is a job, billed to and
 * permitted on the project (bigquery.jobs.create, roles/bigquery.jobUser:
 * https://cloud.google.com/bigquery/docs/access-control). It appends to parity_results only
 * (tabledata.insertAll, dataEditor on that one table). Firestore has nothing finer than the project,
 * and the job writes parityLatest, so datastore.user. Monitoring: it reads the consumers' lag
 * (viewer) and writes the parity metric (metricWriter: monitoring.timeSeries.create), both
 * project-level roles. Pub/Sub: it reads what each compared consumer holds by pulling its dead-letter
 * hold and releasing the messages at once (subscriptions.consume: subscriber on each hold only).
 */
export function parityJobGrants(spec: MeshSpec): Grant[] {
  const grants: Grant[] = [
    { role: 'roles/bigquery.dataViewer', on: { kind: 'dataset' }, reason: 'reads the events tables and dedup views (the reference)' },
    { role: 'roles/bigquery.jobUser', on: { kind: 'project' }, reason: 'runs the comparison queries (a query is a BigQuery job)' },
    { role: 'roles/bigquery.dataEditor', on: { kind: 'table', name: PARITY_RESULTS_TABLE }, reason: 'appends each run to parity_results' },
    { role: 'roles/datastore.user', on: { kind: 'project' }, reason: 'reads the dashboard and processor documents, writes parityLatest' },
    { role: 'roles/monitoring.viewer', on: { kind: 'project' }, reason: "reads the consumers' lag (which windows are drained)" },
    { role: 'roles/monitoring.metricWriter', on: { kind: 'project' }, reason: 'writes the parity metric the alert watches' },
  ];
  for (const consumer of parityConsumers(spec)) {
    const hold = consumerResources(consumer).deadLetterHold;
    grants.push({ role: 'roles/pubsub.subscriber', on: { kind: 'subscription', name: hold }, reason: `reads what ${consumer.name} holds` });
  }
  return grants;
}

/**
 * What a replay operator (event-mesh:replayOperators) needs for `mesh replay --gcp` and
 * `mesh dead-letters --redrive --gcp`: publish to each consumer's redrive topic (the only
 * principals granted it: no service publishes there), read the warehouse, append to
 * replay_audit and operations_audit, read and clear Firestore documents (the plan's dedup count, a rebuild), and read
 * and ack the dead-letter holds.
 */
export function replayOperatorGrants(spec: MeshSpec): Grant[] {
  const grants: Grant[] = [
    { role: 'roles/bigquery.dataViewer', on: { kind: 'dataset' }, reason: 'reads the events to replay from the dedup views' },
    { role: 'roles/bigquery.jobUser', on: { kind: 'project' }, reason: 'runs the replay queries (a query is a BigQuery job)' },
    { role: 'roles/bigquery.dataEditor', on: { kind: 'table', name: REPLAY_AUDIT_TABLE }, reason: 'records every step of a replay' },
    { role: 'roles/bigquery.dataEditor', on: { kind: 'table', name: OPERATIONS_AUDIT_TABLE }, reason: 'records every redrive (who, why, what, outcome)' },
    { role: 'roles/datastore.user', on: { kind: 'project' }, reason: "counts what a consumer applied; a rebuild clears the keys' projections" },
  ];
  for (const consumer of Object.values(spec.consumers)) {
    const names = consumerResources(consumer);
    grants.push(
      { role: 'roles/pubsub.publisher', on: { kind: 'topic', name: names.redriveTopic }, reason: `replays and redrives to ${consumer.name} only` },
      { role: 'roles/pubsub.subscriber', on: { kind: 'subscription', name: names.deadLetterHold }, reason: `lists and redrives what ${consumer.name} holds` },
    );
  }
  return grants;
}
