/** Specs for tests: the default mesh.yaml, or YAML text with schema folders resolved from the repo. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { freePort } from '../../shared/emulators';
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
  const doc = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, 'mesh.yaml'), 'utf8'));
  doc.local = { pubsubPort: await freePort(), firestorePort: await freePort(), bigqueryPort: await freePort(), dataDir: path.join(dir, 'data') };
  for (const service of Object.values<{ localPort: number }>(doc.services)) service.localPort = await freePort();
  for (const topic of Object.values<{ schema: { dir: string } }>(doc.topics)) topic.schema.dir = path.resolve(REPO_ROOT, topic.schema.dir);
  edit(doc);
  const file = path.join(dir, `mesh-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, YAML.stringify(doc));
  return file;
}
