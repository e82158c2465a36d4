/**
 * API enablement. Every other resource depends on these: on a fresh project the first create of,
 * say, a topic fails until pubsub.googleapis.com is on. Enablement is eventually consistent, so
 * what enableApis returns ends with a wait (propagation.ts) that dependents wait on as well.
 */
import * as gcp from '@pulumi/gcp';
import type * as pulumi from '@pulumi/pulumi';
import type { MeshConfig } from './config';
import type { MeshSpec } from '../shared/spec';
import { countsAnomalies } from './anomalies';
import { buildsImages } from './images';
import { countsSchemaDeadLetters } from './schema-dead-letters';
import { runsScheduledParity } from '../shared/parity';
import { API_PROPAGATION_SECONDS, PropagationWait } from './propagation';

export function requiredApis(spec: MeshSpec, config: MeshConfig): string[] {
  const apis = [
    'cloudresourcemanager.googleapis.com', // project number lookup
    'iam.googleapis.com', // service accounts
    'pubsub.googleapis.com',
    'run.googleapis.com',
    'firestore.googleapis.com',
    'bigquery.googleapis.com',
    'monitoring.googleapis.com',
  ];
  if (buildsImages(spec, config)) apis.push('artifactregistry.googleapis.com');
  // The scheduled parity run (parity.ts): Cloud Scheduler starts a Cloud Run job.
  if (runsScheduledParity(spec)) apis.push('cloudscheduler.googleapis.com');
  // The log-based metrics (anomalies.ts, schema-dead-letters.ts); on by default in most projects, but it can be off.
  if (countsAnomalies(spec) || countsSchemaDeadLetters(spec)) apis.push('logging.googleapis.com');
  // IAP in front of the dashboard (services.ts): its service agent and settings need the API on.
  if (config.dashboardAccess === 'iap' && config.dashboardViewers.length) apis.push('iap.googleapis.com');
  return apis;
}

export interface EnableApisOptions {
  /** Wait after enabling, before anything else is created; default API_PROPAGATION_SECONDS. */
  propagationSeconds?: number;
}

/** The API services, then the propagation wait after them: depend on all of it. */
export function enableApis(spec: MeshSpec, config: MeshConfig, parent: pulumi.Resource, options: EnableApisOptions = {}): pulumi.Resource[] {
  const apis = requiredApis(spec, config);
  const services = apis.map(
    (service) =>
      new gcp.projects.Service(
        `api-${service.split('.')[0]}`,
        // Leave APIs on at destroy: other workloads in the project may use them.
        { project: config.project, service, disableOnDestroy: false, disableDependentServices: false },
        { parent },
      ),
  );
  // Triggers = the API list: enabling one more API later waits again; an unchanged list never does.
  const wait = new PropagationWait(
    'api-propagation',
    { seconds: options.propagationSeconds ?? API_PROPAGATION_SECONDS, reason: 'API enablement is eventually consistent', triggers: apis },
    { parent, dependsOn: services },
  );
  return [...services, wait];
}
