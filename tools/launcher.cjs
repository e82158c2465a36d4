/**
 * `npm run mesh -- <command>`: runs tools/mesh.ts from one bundled file, built by esbuild on first use
 * and again whenever one of its sources changed, with V8's code cache.
 *
 * Why: an operator runs `mesh status` when the mesh is busy, and a new Node process then waits for a
 * core. Run through tsx, the CLI resolved, read and compiled ~230 modules (zod 95, yaml 72) before
 * doing anything; as one file with its compiled code cached it starts on a fraction of that CPU
 * (docs/performance.md, "mesh status under load", has the figures and the command that measures them).
 *
 * Plain CommonJS on purpose: it must start without tsx. If the bundle cannot be built (esbuild
 * missing, a syntax error being edited), the CLI runs through tsx as before, with a note on stderr.
 * MESH_CLI_BUNDLE=0 always runs it through tsx.
 *
 * What is bundled: our code, and the pure-JS packages named in INLINE (their many small modules are
 * what a start pays for). Every other package is required from node_modules at run time, as usual:
 * the Google clients, Pulumi and DuckDB are heavy or native, and only some commands load them.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const ROOT = path.resolve(__dirname, '..');
const ENTRY = path.join(ROOT, 'tools', 'mesh.ts');
/** Where the bundle, its list of sources and its code cache live (node_modules/.cache: a tool cache, never committed). */
const DEFAULT_CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'mesh-cli');
/** Packages built into the bundle (with what they import); the rest stay external. */
const INLINE = new Set(['zod', 'yaml', 'avsc', 'commander', 'cli-table3', 'cli-progress']);
/** npm rewrites this on every install: it stands for every package inside the bundle. */
const INSTALLED_PACKAGES = path.join(ROOT, 'node_modules', '.package-lock.json');

const packageName = (specifier) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/**
 * The files of one cache directory. The code cache is kept per command: V8 caches the functions
 * compiled when it is made, and each command compiles its own.
 */
function cacheFiles(cacheDir, command = 'help') {
  return {
    bundle: path.join(cacheDir, 'mesh.cjs'),
    sources: path.join(cacheDir, 'sources.json'),
    codeCache: path.join(cacheDir, `${command.replace(/[^a-z-]/g, '_')}.v8cache`),
  };
}

/** The command named on the command line, as tools/mesh.ts reads it (here only a cache key: a wrong guess costs speed, nothing else). */
function commandOf(argv) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--spec') i++;
    else if (!argv[i].startsWith('-')) return argv[i];
  }
  return undefined;
}

/**
 * esbuild plugin: bundle only INLINE packages, and give each of our files its own __dirname (in one
 * bundle every module would otherwise see the bundle's directory: REPO_ROOT, the spec's default
 * path). The rewrite is relative to the bundle, so the checkout may move.
 */
function meshBundlePlugin(outDir) {
  return {
    name: 'mesh-bundle',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:') || Module.isBuiltin(args.path)) return { external: true };
        // What an inlined package imports is inlined with it.
        if (args.importer.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        return INLINE.has(packageName(args.path)) ? undefined : { external: true };
      });
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const source = fs.readFileSync(args.path, 'utf8');
        if (!source.includes('__dirname')) return undefined;
        const relative = path.relative(outDir, path.dirname(args.path)).split(path.sep).join('/');
        const contents = source.replace(/\b__dirname\b/g, `require('node:path').join(__dirname, ${JSON.stringify(relative)})`);
        return { contents, loader: 'ts', resolveDir: path.dirname(args.path) };
      });
    },
  };
}

/**
 * Builds the bundle into `cacheDir` and records its sources (our files; the installed packages stand
 * for the rest). Written under temporary names and renamed, so a concurrent `mesh` reads whole files.
 */
async function buildBundle(cacheDir = DEFAULT_CACHE_DIR) {
  const esbuild = require('esbuild');
  const files = cacheFiles(cacheDir);
  const startedAt = Date.now();
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${process.versions.node.split('.')[0]}`,
    // Smaller to read and hash; names are kept, so an unexpected error's stack still names functions.
    minifyWhitespace: true,
    minifySyntax: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
    outfile: files.bundle,
    plugins: [meshBundlePlugin(cacheDir)],
  });
  // The entry's `#!/usr/bin/env tsx` line: the bundle is compiled as a module body.
  const code = result.outputFiles[0].text.replace(/^#!.*\n/, '');
  const sources = Object.keys(result.metafile.inputs)
    .filter((input) => !input.startsWith('node_modules/') && !input.includes('/node_modules/'))
    .map((input) => path.resolve(ROOT, input));
  fs.mkdirSync(cacheDir, { recursive: true });
  const temporary = (file) => `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary(files.bundle), code);
  fs.writeFileSync(temporary(files.sources), JSON.stringify({ builtAt: startedAt, sources: [...sources, INSTALLED_PACKAGES, __filename] }));
  for (const file of fs.readdirSync(cacheDir)) if (file.endsWith('.v8cache')) fs.rmSync(path.join(cacheDir, file), { force: true });
  fs.renameSync(temporary(files.bundle), files.bundle);
  fs.renameSync(temporary(files.sources), files.sources);
  return files.bundle;
}

/** True when the bundle is missing or any of its sources changed since it was built (a missing source counts as changed). */
function isStale(cacheDir = DEFAULT_CACHE_DIR) {
  const files = cacheFiles(cacheDir);
  let recorded;
  try {
    recorded = JSON.parse(fs.readFileSync(files.sources, 'utf8'));
    if (!fs.existsSync(files.bundle)) return true;
  } catch {
    return true;
  }
  return recorded.sources.some((file) => {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    return !stat || stat.mtimeMs >= recorded.builtAt;
  });
}

/**
 * Runs the bundle as the main module, compiled with the code cache V8 made on an earlier run (Node 22
 * has module.enableCompileCache for this; Node 20 does not). The cache is written at exit, once the
 * command has compiled what it uses; V8 rejects a cache made for other code, and it is then rewritten.
 */
function runBundle(bundle, codeCacheFile) {
  const source = fs.readFileSync(bundle, 'utf8');
  let cachedData;
  try {
    cachedData = fs.readFileSync(codeCacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData });
  if (!cachedData || script.cachedDataRejected) {
    process.once('exit', () => {
      try {
        fs.writeFileSync(`${codeCacheFile}.${process.pid}.tmp`, script.createCachedData());
        fs.renameSync(`${codeCacheFile}.${process.pid}.tmp`, codeCacheFile);
      } catch {
        // A read-only checkout runs without the cache.
      }
    });
  }
  // Packages left out of the bundle are found as tools/mesh.ts finds them, wherever the cache is.
  const bundleModule = new Module(bundle, module);
  bundleModule.filename = bundle;
  bundleModule.paths = Module._nodeModulePaths(path.dirname(ENTRY));
  const run = script.runInThisContext();
  run.call(bundleModule.exports, bundleModule.exports, Module.createRequire(ENTRY), bundleModule, bundle, path.dirname(bundle));
}

function runThroughTsx() {
  require('tsx/cjs');
  require(ENTRY);
}

async function main() {
  if (process.env.MESH_CLI_BUNDLE === '0') return runThroughTsx();
  const cacheDir = process.env.MESH_CLI_CACHE_DIR || DEFAULT_CACHE_DIR;
  const files = cacheFiles(cacheDir, commandOf(process.argv.slice(2)));
  if (isStale(cacheDir)) {
    try {
      await buildBundle(cacheDir);
    } catch (error) {
      const reason = error && error.errors && error.errors[0] ? error.errors[0].text : String(error && error.message ? error.message : error);
      process.stderr.write(`mesh: running through tsx (the CLI bundle could not be built: ${reason})\n`);
      return runThroughTsx();
    }
  }
  runBundle(files.bundle, files.codeCache);
}

if (require.main === module)
  main().catch((error) => {
    process.stderr.write(`mesh: ${error && error.stack ? error.stack : String(error)}\n`);
    process.exit(1);
  });

module.exports = { buildBundle, isStale, cacheFiles, commandOf, INLINE };
