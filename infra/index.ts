/**
 * `pulumi up` entry point (Pulumi.yaml: main: infra/index.ts). Reads the stack config and the mesh
 * spec, both validated before anything is created, then which consumers are paused in the project
 * (infra/paused.ts: a deployment never resumes one), and deploys the mesh they describe.
 *
 * An async entry point: Pulumi runs an exported function and makes the properties of the object it
 * resolves to the stack outputs (https://www.pulumi.com/docs/iac/languages-sdks/javascript/#entrypoint).
 * Pulumi calls it with no argument; offline runs (infra/offline-run.ts: tests, `mesh plan`) pass the
 * paused consumers instead of reading them from GCP.
 */
import { loadMeshInputs } from './config';
import { EventMesh } from './event-mesh';
import { pausedForDeploy } from './paused';

export = async (given?: { paused?: readonly string[] }) => {
  const { spec, config } = loadMeshInputs();
  const paused = given?.paused ?? (await pausedForDeploy(config));
  const mesh = new EventMesh('event-mesh', { spec, config, paused });
  return {
    /** Cloud Run URL per service. */
    serviceUrls: mesh.serviceUrls,
    /** The spec's topics (dead-letter and redrive topics are derived: consumerResources()). */
    topicNames: mesh.topicNames,
    /** The BigQuery dataset with the events tables. */
    dataset: mesh.datasetId,
  };
};
