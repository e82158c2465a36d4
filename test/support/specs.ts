/** Specs for tests: the default mesh.yaml, or YAML text with schema folders resolved from the repo. */
import * as path from 'node:path';
import { writeIsolatedSpec } from '../../shared/local/isolated-spec';
import { loadSpec, parseSpec, type MeshSpec } from '../../shared/spec';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export const defaultSpec = (): MeshSpec => loadSpec(path.join(REPO_ROOT, 'mesh.yaml'));

/** Parses spec text as if it were a file at the repo root (so `schemas/...` folders resolve). */
export const specFromText = (text: string): MeshSpec => parseSpec(text, path.join(REPO_ROOT, 'test-spec.yaml'));

/** The repository's two topics as spec YAML (absolute schema folders), for tests that write their own spec files. */
export const REPO_TOPICS_YAML = `topics:
  analytics:
    schema: { dir: ${path.join(REPO_ROOT, 'schemas/analytics')}, revisions: [v1, v2] }
    eventTypes: [click, view, like.created, like.removed]
  orders:
    schema: { dir: ${path.join(REPO_ROOT, 'schemas/orders')}, revisions: [v1, v2] }
    eventTypes: [order.created, order.paid, order.shipped, order.cancelled]
    orderingKey: orderId`;

/**
 * Writes the repository's mesh.yaml into `dir` with free local ports, `dir/data` as the data folder
 * and absolute schema folders, so a test can run the whole local mesh beside a developer's npm start.
 * `edit` may change the parsed document before it is written; returns the file.
 */
export async function writeRepoSpecWithFreePorts(dir: string, edit: (doc: Record<string, any>) => void = () => undefined): Promise<string> {
  return writeIsolatedSpec(path.join(REPO_ROOT, 'mesh.yaml'), dir, edit);
}
