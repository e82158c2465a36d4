/**
 * The parity job's entry (tools/parity/job.ts) as the image runs it (`node --import tsx`): it loads,
 * resolves every import, and a run that cannot start (here: no credentials) exits 1 with one
 * structured ERROR line Cloud Logging reads, never a bare stack trace. GCP itself is not reachable here.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

const REPO = path.resolve(__dirname, '../..');

it('exits 1 with one JSON ERROR line when it has no credentials', async () => {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GOOGLE_CLOUD_PROJECT: 'parity-entry-test',
    MESH_SPEC: path.join(REPO, 'mesh.yaml'),
    // A key file that does not exist: application default credentials fail at once, no metadata server lookup.
    GOOGLE_APPLICATION_CREDENTIALS: path.join(REPO, 'no-such-key.json'),
  };
  const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'tools/parity/job.ts'], { cwd: REPO, env, timeout: 60_000 }).then(
    () => ({ code: 0, stdout: '' }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  );
  expect(result.code).toBe(1);
  const lines = result.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0])).toMatchObject({
    severity: 'ERROR',
    message: expect.stringMatching(/^parity run failed: no usable application default credentials/),
  });
}, 90_000);
