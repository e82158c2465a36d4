/**
 * tools/launcher.cjs (`npm run mesh`, `npm start`): the CLI run from one esbuild bundle with V8's code
 * cache gives what the CLI gives through tsx; the bundle is rebuilt when a source changed; each of our
 * files keeps its own __dirname inside the bundle (REPO_ROOT, the spec's default path). Real esbuild,
 * real Node processes; each test's bundle goes to a temporary cache directory (MESH_CLI_CACHE_DIR).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../shared/local/services';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain CommonJS, no types of its own
const launcher = require('../../tools/launcher.cjs') as {
  buildBundle: (cacheDir: string) => Promise<string>;
  isStale: (cacheDir: string) => boolean;
  cacheFiles: (cacheDir: string, command?: string) => { bundle: string; sources: string; codeCache: string };
  commandOf: (argv: string[]) => string | undefined;
};

const LAUNCHER = path.join(REPO_ROOT, 'tools', 'launcher.cjs');
const run = promisify(execFile);
let cacheDir: string;

beforeEach(() => {
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-cli-cache-'));
});
afterEach(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

const viaLauncher = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, [LAUNCHER, ...args], { cwd: REPO_ROOT, env: { ...process.env, MESH_CLI_CACHE_DIR: cacheDir, ...env } });
const viaTsx = (args: string[]) => run(process.execPath, ['--require', 'tsx/cjs', 'tools/mesh.ts', ...args], { cwd: REPO_ROOT });

it('builds the bundle on first use, answers as the CLI does through tsx, and reuses the bundle and its code cache', async () => {
  const files = launcher.cacheFiles(cacheDir, 'validate');
  const first = await viaLauncher(['--spec', 'mesh.yaml', 'validate']);
  expect(first.stdout).toBe((await viaTsx(['--spec', 'mesh.yaml', 'validate'])).stdout);
  expect(first.stderr).toBe('');
  const built = fs.statSync(files.bundle).mtimeMs;
  expect(fs.existsSync(files.codeCache)).toBe(true);

  const second = await viaLauncher(['--spec', 'mesh.yaml', 'validate']);
  expect(second.stdout).toBe(first.stdout);
  expect(fs.statSync(files.bundle).mtimeMs).toBe(built);
  // The same help, command for command (every command's module is in the bundle).
  expect((await viaLauncher(['--help'])).stdout).toBe((await viaTsx(['--help'])).stdout);
}, 120000);

it('fails as the CLI fails through tsx: the same message and exit code for a user error', async () => {
  type Failure = { code: number; stdout: string; stderr: string };
  const failure = (await viaLauncher(['--spec', 'no-such-mesh.yaml', 'validate']).catch((error: Failure) => error)) as Failure;
  const throughTsx = (await viaTsx(['--spec', 'no-such-mesh.yaml', 'validate']).catch((error: Failure) => error)) as Failure;
  expect(failure.code).toBe(1);
  expect(failure.stderr).toMatch(/no-such-mesh\.yaml.*cannot read spec/);
  expect({ code: failure.code, stdout: failure.stdout, stderr: failure.stderr }).toEqual({
    code: throughTsx.code,
    stdout: throughTsx.stdout,
    stderr: throughTsx.stderr,
  });
}, 120000);

it('is stale when a source changed or went missing since the build, and current otherwise', async () => {
  await launcher.buildBundle(cacheDir);
  expect(launcher.isStale(cacheDir)).toBe(false);
  const { sources } = launcher.cacheFiles(cacheDir);
  const recorded = JSON.parse(fs.readFileSync(sources, 'utf8')) as { builtAt: number; sources: string[] };
  // Our files, the installed packages' lock and the launcher itself; no package file one by one.
  expect(recorded.sources).toEqual(
    expect.arrayContaining([path.join(REPO_ROOT, 'tools', 'mesh.ts'), path.join(REPO_ROOT, 'shared', 'spec', 'load.ts'), LAUNCHER]),
  );
  expect(recorded.sources.filter((f) => f.includes(`${path.sep}node_modules${path.sep}`))).toEqual([
    path.join(REPO_ROOT, 'node_modules', '.package-lock.json'),
  ]);

  // A source edited after the build (a scratch file stands in for it: the checkout is not touched).
  const edited = path.join(cacheDir, 'edited.ts');
  fs.writeFileSync(edited, '');
  fs.utimesSync(edited, new Date(recorded.builtAt - 60_000), new Date(recorded.builtAt - 60_000));
  fs.writeFileSync(sources, JSON.stringify({ ...recorded, sources: [...recorded.sources, edited] }));
  expect(launcher.isStale(cacheDir)).toBe(false);
  fs.utimesSync(edited, new Date(recorded.builtAt + 1000), new Date(recorded.builtAt + 1000));
  expect(launcher.isStale(cacheDir)).toBe(true);
  fs.rmSync(edited);
  expect(launcher.isStale(cacheDir)).toBe(true);

  // A stale bundle is rebuilt on the next run.
  const before = fs.statSync(launcher.cacheFiles(cacheDir).bundle).mtimeMs;
  await viaLauncher(['--spec', 'mesh.yaml', 'validate']);
  expect(fs.statSync(launcher.cacheFiles(cacheDir).bundle).mtimeMs).toBeGreaterThan(before);
  expect(launcher.isStale(cacheDir)).toBe(false);
}, 120000);

it("gives each of our files its own __dirname inside the bundle, relative to the bundle's place", async () => {
  const bundle = await launcher.buildBundle(cacheDir);
  const code = fs.readFileSync(bundle, 'utf8');
  const rewritten = [...code.matchAll(/require\("node:path"\)\.join\(__dirname,"([^"]*)"\)/g)].map((m) => path.join(cacheDir, m[1]));
  // Every other __dirname in the bundle is text (@colors/colors' deprecation message), not code: an
  // inlined package reading its own directory would show here.
  const others = [...code.matchAll(/.{0,40}\b__dirname\b/g)].map((m) => m[0]).filter((s) => !s.endsWith('require("node:path").join(__dirname'));
  expect(others.filter((s) => !s.includes('colors.setTheme('))).toEqual([]);
  const { sources } = JSON.parse(fs.readFileSync(launcher.cacheFiles(cacheDir).sources, 'utf8')) as { sources: string[] };
  const usingDirname = sources.filter((f) => f.endsWith('.ts') && fs.readFileSync(f, 'utf8').includes('__dirname')).map((f) => path.dirname(f));
  expect(usingDirname).toEqual(expect.arrayContaining([path.join(REPO_ROOT, 'shared', 'local'), path.join(REPO_ROOT, 'shared', 'spec')]));
  expect([...new Set(rewritten)].sort()).toEqual([...new Set(usingDirname)].sort());
}, 120000);

it('runs through tsx, saying why, when the bundle cannot be built, and always with MESH_CLI_BUNDLE=0', async () => {
  // A cache directory that cannot be created (a file is in its way): the build fails, the command still runs.
  const blocked = path.join(cacheDir, 'file');
  fs.writeFileSync(blocked, '');
  const fallback = await viaLauncher(['--spec', 'mesh.yaml', 'validate'], { MESH_CLI_CACHE_DIR: path.join(blocked, 'cache') });
  expect(fallback.stderr).toMatch(/^mesh: running through tsx \(the CLI bundle could not be built: /);
  expect(fallback.stdout).toMatch(/mesh\.yaml: ok/);

  const direct = await viaLauncher(['--spec', 'mesh.yaml', 'validate'], { MESH_CLI_BUNDLE: '0' });
  expect(direct.stdout).toBe(fallback.stdout);
  expect(fs.readdirSync(cacheDir)).toEqual(['file']);
}, 120000);

it('names the command for its code cache as tools/mesh.ts does', () => {
  expect(launcher.commandOf(['--spec', 'status', 'validate'])).toBe('validate');
  expect(launcher.commandOf(['status', '--json'])).toBe('status');
  expect(launcher.commandOf(['--help'])).toBeUndefined();
  expect(path.basename(launcher.cacheFiles('/c', 'dead-letters').codeCache)).toBe('dead-letters.v8cache');
  expect(path.basename(launcher.cacheFiles('/c').codeCache)).toBe('help.v8cache');
});
