/**
 * A copy of a spec file that runs beside anything else on this machine: free local ports for the
 * emulators, local BigQuery and every service, its own data folder, and schema folders made absolute
 * (the copy lives elsewhere). The fault suite and the system tests start whole meshes from it while a
 * developer's `npm start` keeps its ports.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { freePort } from '../emulators/ports';

/** Writes the copy into `dir` (data in `dir/data`); `edit` may change the parsed document first. Returns the file. */
export async function writeIsolatedSpec(specFile: string, dir: string, edit: (doc: Record<string, any>) => void = () => undefined): Promise<string> {
  const doc = YAML.parse(fs.readFileSync(specFile, 'utf8'), { merge: true });
  // freePort() never hands out a port twice in one process, which the spec's distinct ports need.
  const port = freePort;
  doc.local = { ...doc.local, pubsubPort: await port(), firestorePort: await port(), bigqueryPort: await port(), dataDir: path.join(dir, 'data') };
  for (const service of Object.values<{ localPort: number }>(doc.services ?? {})) service.localPort = await port();
  const from = path.dirname(path.resolve(specFile));
  for (const topic of Object.values<{ schema?: { dir: string } }>(doc.topics ?? {})) if (topic.schema) topic.schema.dir = path.resolve(from, topic.schema.dir);
  edit(doc);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `mesh-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, YAML.stringify(doc));
  return file;
}
