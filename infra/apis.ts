/**
 * API enablement. Every other resource depends on these: on a fresh project the first create of,
 * say, a topic fails until pubsub.googleapis.com is on.
 */
import * as gcp from '@pulumi/gcp';
import type * as pulumi from '@pulumi/pulumi';
import type { MeshConfig } from './config';
import type { MeshSpec } from '../shared/spec';
import { servicesToBuild } from './images';

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
  if (servicesToBuild(spec, config).length) apis.push('artifactregistry.googleapis.com');
  return apis;
}

export function enableApis(spec: MeshSpec, config: MeshConfig, parent: pulumi.Resource): gcp.projects.Service[] {
  return requiredApis(spec, config).map(
    (service) =>
      new gcp.projects.Service(
        `api-${service.split('.')[0]}`,
        // Leave APIs on at destroy: other workloads in the project may use them.
        { project: config.project, service, disableOnDestroy: false, disableDependentServices: false },
        { parent },
      ),
  );
}
