/**
 * Every `mesh` command reads the spec named by `--spec` (issue 19: `dead-letters` read mesh.yaml
 * whatever it was given). Each command is run as users run it, with a spec file that does not
 * exist: it must fail naming that file, not work on another spec.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '..', '..');
const MISSING = path.join(ROOT, 'test', 'unit', 'fixtures', 'no-such-mesh.yaml');

/** Each command with the arguments it needs to reach its action. */
const COMMANDS: string[][] = [
  ['validate'],
  ['plan'],
  ['apply', '--local'],
  ['doctor'],
  ['status'],
  ['query', 'SELECT 1'],
  ['dead-letters', 'processor-orders'],
  ['dead-letters', 'processor-orders', '--redrive', '--owner', 'o', '--intent', 'i'],
  ['load', '--duration', '1s'],
  ['smoke'],
  ['parity'],
  ['up'],
  ['faults', '--short'],
  ['replay', 'list'],
  ['audit'],
  ['pause', 'processor-orders', '--owner', 'o', '--intent', 'i'],
  ['resume', 'processor-orders', '--owner', 'o', '--intent', 'i'],
  ['runbooks', '--check'],
  ['canary', 'start', 'processor-orders', '--share', '5%', '--owner', 'o', '--intent', 'i'],
  ['canary', 'status', 'processor-orders'],
  ['canary', 'promote', 'processor-orders', '--owner', 'o', '--intent', 'i'],
  ['canary', 'abort', 'processor-orders', '--owner', 'o', '--intent', 'i'],
  ['schema', 'check'],
  ['schema', 'readiness', 'orders', 'v2'],
  ['schema', 'accept', 'orders', 'v2'],
  ['schema', 'approve', 'orders', 'v3', '--by', 'x'],
  ['schema', 'retire', 'orders', 'v1'],
  ['catalog'],
  ['readiness'],
];

it('covers every command the CLI has', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'tools/mesh.ts', '--help'], { cwd: ROOT });
  const listed = [...stdout.split('Commands:')[1].matchAll(/^\s{2}([a-z-]+)/gm)].map((m) => m[1]).filter((c) => c !== 'help');
  expect(listed.sort()).toEqual([...new Set(COMMANDS.map((c) => c[0]))].sort());
}, 60_000);

it.each(COMMANDS)(
  '%s reads the spec --spec names',
  async (...args) => {
    const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'tools/mesh.ts', '--spec', MISSING, ...args], {
      cwd: ROOT,
      timeout: 60_000,
      env: { ...process.env, MESH_SPEC: '' },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no-such-mesh.yaml');
  },
  60_000,
);
