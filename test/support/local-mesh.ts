/** A whole local mesh (npm start's code) from the repo's mesh.yaml on free ports, for a system test file. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalMesh, type LocalMesh, type LocalMeshOptions } from '../../shared/local';
import { loadSpec, type MeshSpec } from '../../shared/spec';
import { localTarget, type SmokeTarget } from '../../tools/smoke/target';
import { writeRepoSpecWithFreePorts } from './specs';

export interface TestMesh {
  spec: MeshSpec;
  mesh: LocalMesh;
  target: SmokeTarget;
  /** Closes the clients, stops the mesh, removes its folder. */
  close(): Promise<void>;
}

/** Starts it fresh under a project named `<name>-<pid>`, in a temporary folder. */
export async function startTestMesh(name: string, options: LocalMeshOptions = {}): Promise<TestMesh> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  const spec = loadSpec(await writeRepoSpecWithFreePorts(dir, (doc) => (doc.project = `${name}-${process.pid}`)));
  const mesh = await startLocalMesh(spec, { fresh: true, ...options });
  const target = await localTarget(spec, { pubsubHost: mesh.pubsubHost, firestoreHost: mesh.firestoreHost, bigqueryUrl: mesh.bigqueryUrl });
  return {
    spec,
    mesh,
    target,
    close: async () => {
      await target.close();
      await mesh.stop().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
