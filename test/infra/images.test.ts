/**
 * Built images (issue 16): no build on preview, content-addressed tags, an Artifact Registry cleanup
 * policy, registry credentials that do not make the image differ, and a build context that holds
 * exactly what the tag hashes. The program runs under mocks (no Pulumi engine or Docker here).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  BUILD_FILES,
  DOCKERFILE,
  IMAGE_KEEP_VERSIONS,
  IMAGE_MAX_AGE,
  IMAGE_SOURCES,
  IMAGE_TAG_PREFIX,
  imageSourceHash,
  imageTag,
  PARITY_BUILD_FILES,
  PARITY_DOCKERFILE,
  PARITY_IMAGE_SOURCES,
} from '../../infra/images';
import { importsOf } from '../support/layers';
import { Mesh, PROJECT, REPO, runMesh, T } from './harness';

jest.setTimeout(60_000);

/** Pulumi's marker of a secret value, as the mocks see it. */
const SECRET_SIG = '4dabf18193072939515e22adb298388d';

let mesh: Mesh;
/** The source hash just before and after the run (other work may edit the tree meanwhile). */
let hashes: string[];
beforeAll(async () => {
  const before = imageSourceHash();
  mesh = await runMesh({});
  hashes = [before, imageSourceHash()];
});

describe('the Image resources', () => {
  it('do not build on preview, push linux/amd64, and are tagged by content', () => {
    const images = mesh.all(T.image).filter((i) => i.inputs.buildArgs.SERVICE);
    expect(images.map((i) => i.inputs.buildArgs.SERVICE).sort()).toEqual(['dashboard', 'processor', 'warehouse']);
    for (const image of images) {
      expect(image.inputs).toMatchObject({ buildOnPreview: false, push: true, platforms: ['linux/amd64'] });
      const tags = hashes.map(
        (h) => `us-central1-docker.pkg.dev/${PROJECT}/event-mesh/${image.inputs.buildArgs.SERVICE}:${imageTag(h, image.inputs.buildArgs)}`,
      );
      expect(image.inputs.tags).toHaveLength(1);
      expect(tags).toContain(image.inputs.tags[0]);
      expect(image.inputs.tags[0]).not.toMatch(/:latest$/);
    }
  });

  it('give an unchanged tree the same tags on the next run', async () => {
    const before = imageSourceHash();
    const again = await runMesh({});
    if (before !== hashes[1] || imageSourceHash() !== before) return; // the tree changed meanwhile: nothing to compare
    expect(again.all(T.image).map((i) => i.inputs.tags)).toEqual(mesh.all(T.image).map((i) => i.inputs.tags));
  });

  it('take a fresh registry token each run and do not ignore it, and leave tags to the repository on destroy', () => {
    for (const image of mesh.all(T.image)) {
      // docker-build's Image.Diff ignores a registry's password (v0.0.22 provider/internal/image.go),
      // so a new token is no change; ignoreChanges would push a real rebuild with the expired one.
      expect(image.inputs.registries).toEqual({
        [SECRET_SIG]: expect.any(String),
        value: [{ address: 'us-central1-docker.pkg.dev', username: 'oauth2accesstoken', password: 'offline-access-token' }],
      });
      expect(image.ignoreChanges ?? []).toEqual([]);
      expect(image.retainOnDelete).toBe(true);
    }
  });

  it('go to a repository that keeps the newest versions and deletes older ones', () => {
    const repo = mesh.one(T.registry, 'images');
    expect(repo.inputs).toMatchObject({ format: 'DOCKER', cleanupPolicyDryRun: false });
    expect(repo.inputs.cleanupPolicies).toEqual([
      { id: 'keep-recent', action: 'KEEP', mostRecentVersions: { keepCount: IMAGE_KEEP_VERSIONS } },
      { id: 'delete-old', action: 'DELETE', condition: { tagState: 'ANY', olderThan: IMAGE_MAX_AGE } },
    ]);
    expect(IMAGE_KEEP_VERSIONS).toBeGreaterThanOrEqual(3 * 3); // a few builds of index + image + attestation
  });
});

describe('imageSourceHash', () => {
  let root: string;
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  };
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-image-'));
    write('package.json', '{}');
    write('package-lock.json', '{}');
    write('services/Dockerfile', 'FROM x');
    write('services/a/index.ts', 'a');
    write('shared/b.ts', 'b');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('is stable, and changes with any shipped file, the Dockerfile or the lock', () => {
    const first = imageSourceHash(root);
    expect(imageSourceHash(root)).toBe(first);
    for (const file of ['shared/b.ts', 'services/Dockerfile', 'package-lock.json', 'services/a/index.ts']) {
      const before = imageSourceHash(root);
      write(file, `changed ${file}`);
      expect({ file, changed: imageSourceHash(root) !== before }).toEqual({ file, changed: true });
    }
    write('schemas/orders/v1.avsc', '{}'); // a new file counts too
    expect(imageSourceHash(root)).not.toBe(first);
  });

  it('ignores what is never shipped: node_modules, local data, logs, other folders', () => {
    const before = imageSourceHash(root);
    write('services/a/node_modules/duckdb/binary.node', 'native');
    write('node_modules/x/index.js', 'x');
    write('.mesh-data/warehouse.duckdb', 'data');
    write('shared/debug.log', 'log');
    write('docs/readme.md', 'docs');
    write('test/x.test.ts', 'test');
    expect(imageSourceHash(root)).toBe(before);
  });

  it('tags per service and build args, with the prefix the cleanup policy knows', () => {
    const hash = imageSourceHash(root);
    expect(imageTag(hash, { SERVICE: 'a' })).toMatch(new RegExp(`^${IMAGE_TAG_PREFIX}[0-9a-f]{20}$`));
    expect(imageTag(hash, { SERVICE: 'a' })).not.toBe(imageTag(hash, { SERVICE: 'b' }));
    expect(imageTag(hash, { SERVICE: 'a', MESH_SPEC: '/app/mesh.yaml' })).toBe(imageTag(hash, { MESH_SPEC: '/app/mesh.yaml', SERVICE: 'a' }));
  });
});

describe('the build context and the Dockerfile', () => {
  const dockerfile = fs.readFileSync(path.join(REPO, DOCKERFILE), 'utf8');
  const allowList = (file: string) =>
    fs
      .readFileSync(path.join(REPO, file), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1));

  it('lets exactly the image sources in, through either ignore file, and never node_modules, .git or local data', () => {
    for (const file of [`${DOCKERFILE}.dockerignore`, '.dockerignore']) {
      const lines = fs.readFileSync(path.join(REPO, file), 'utf8').split('\n');
      expect(lines).toContain('*');
      expect(allowList(file).sort()).toEqual([...IMAGE_SOURCES].sort());
      expect(lines).toEqual(expect.arrayContaining(['**/node_modules', '**/.git', '**/.mesh-data', '**/test-artifacts']));
    }
    for (const file of BUILD_FILES) expect(fs.existsSync(path.join(REPO, file))).toBe(true);
  });

  it('copies exactly the image sources', () => {
    const copied = [...dockerfile.matchAll(/^COPY (.+)$/gm)].flatMap((m) => m[1].split(/\s+/).slice(0, -1));
    expect(copied.sort()).toEqual([...IMAGE_SOURCES].sort());
  });

  it('starts from an exact Node release and installs exactly the lock', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:\d+\.\d+\.\d+-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^FROM \$\{NODE_IMAGE\}$/m);
    expect(dockerfile).toMatch(/RUN npm ci --omit=dev --ignore-scripts/);
    expect(dockerfile).not.toMatch(/npm install/);
  });
});

describe('the parity job image (tools/Dockerfile)', () => {
  const dockerfile = fs.readFileSync(path.join(REPO, PARITY_DOCKERFILE), 'utf8');

  it('lets in and copies exactly its sources, and runs the job entry', () => {
    const ignore = fs.readFileSync(path.join(REPO, `${PARITY_DOCKERFILE}.dockerignore`), 'utf8').split('\n');
    expect(ignore).toContain('*');
    expect(
      ignore
        .filter((l) => l.startsWith('!'))
        .map((l) => l.slice(1))
        .sort(),
    ).toEqual([...PARITY_IMAGE_SOURCES].sort());
    expect(ignore).toEqual(expect.arrayContaining(['**/node_modules', '**/.git', '**/.mesh-data']));
    const copied = [...dockerfile.matchAll(/^COPY (.+)$/gm)].flatMap((m) => m[1].split(/\s+/).slice(0, -1));
    expect(copied.sort()).toEqual([...PARITY_IMAGE_SOURCES].sort());
    expect(dockerfile).toMatch(/RUN npm ci --omit=dev --ignore-scripts/);
    expect(dockerfile).toMatch(/^CMD \["node", "--import", "tsx", "tools\/parity\/job\.ts"\]$/m);
    for (const file of PARITY_BUILD_FILES) expect(fs.existsSync(path.join(REPO, file))).toBe(true);
  });

  it('holds every file the job entry imports, and no devDependency', () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const { specifier } of importsOf(file, fs.readFileSync(file, 'utf8'))) {
        if (!specifier.startsWith('.')) {
          if (!specifier.startsWith('node:')) packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);
          continue;
        }
        const base = path.resolve(path.dirname(file), specifier);
        const found = [`${base}.ts`, path.join(base, 'index.ts'), base].find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
        if (found) visit(found);
      }
    };
    visit(path.join(REPO, 'tools/parity/job.ts'));
    const outside = [...seen].map((f) => path.relative(REPO, f)).filter((f) => !PARITY_IMAGE_SOURCES.some((s) => f.startsWith(`${s}/`)));
    expect(outside).toEqual([]);
    const { dependencies, devDependencies } = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
    expect([...packages].filter((p) => !(p in dependencies))).toEqual([]);
    expect([...packages].filter((p) => p in devDependencies)).toEqual([]);
  });

  it('has a tag of its own: a change under tools/ changes it and leaves the service images alone', () => {
    expect(imageSourceHash(REPO, PARITY_IMAGE_SOURCES, PARITY_BUILD_FILES)).not.toBe(imageSourceHash(REPO));
  });
});
