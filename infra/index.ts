/**
 * `pulumi up` entry point (Pulumi.yaml: main: infra/index.ts). Reads the stack config and the mesh
 * spec, both validated before anything is created, and deploys the mesh they describe.
 */
import { loadMeshInputs } from './config';
import { EventMesh } from './event-mesh';

const { spec, config } = loadMeshInputs();
const mesh = new EventMesh('event-mesh', { spec, config });

/** Cloud Run URL per service. */
export const serviceUrls = mesh.serviceUrls;
/** The spec's topics (dead-letter and redrive topics are derived: consumerResources()). */
export const topicNames = mesh.topicNames;
/** The BigQuery dataset with the events tables. */
export const dataset = mesh.datasetId;
