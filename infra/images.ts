/**
 * Container images of the services: a prebuilt image from stack config (`images`), or built from
 * services/Dockerfile (build arg SERVICE) with the repository root as context and pushed to an
 * Artifact Registry repository of the stack.
 *
 * Tags are content hashes of what the image is built from (imageSourceHash): an unchanged tree gives
 * the same tag, any change a new one, so a tag never moves to other content. Cloud Run gets `image.ref`
 * (tag@digest), so each new build rolls out a new revision and an unchanged build changes nothing.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as dockerBuild from '@pulumi/docker-build';
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { PARITY_JOB_NAME, runsScheduledParity } from '../shared/parity';
import type { MeshSpec } from '../shared/spec';
import { REPO_ROOT, type MeshConfig } from './config';
import { meshLabels, resourceOptions, type MeshContext } from './context';

export const DOCKERFILE = 'services/Dockerfile';

/**
 * What an image is built from, relative to the repository root: the Dockerfile copies exactly these
 * (services/Dockerfile, COPY lines), the ignore files let only these into the context, and the tag
 * hashes them. test/infra/images.test.ts keeps the three in step. No infra/ or tools/: services import
 * only shared/ and their own folder (test/unit/layers.test.ts).
 */
export const IMAGE_SOURCES = ['package.json', 'package-lock.json', 'tsconfig.json', 'mesh.yaml', 'schemas', 'shared', 'services'];
/** Build inputs that are not copied into the image but change it. */
export const BUILD_FILES = [DOCKERFILE, `${DOCKERFILE}.dockerignore`, '.dockerignore'];

/**
 * The parity job's image (infra/parity.ts): the mesh's tools on top of what a service image holds,
 * its entry tools/parity/job.ts. Its own Dockerfile and ignore file (BuildKit reads
 * <Dockerfile>.dockerignore in preference to the root one, which keeps tools/ out of service builds),
 * and its own tag, so a change under tools/ never rolls the services.
 */
export const PARITY_DOCKERFILE = 'tools/Dockerfile';
export const PARITY_IMAGE_SOURCES = [...IMAGE_SOURCES, 'tools'];
export const PARITY_BUILD_FILES = [PARITY_DOCKERFILE, `${PARITY_DOCKERFILE}.dockerignore`];
/** Its key in event-mesh:images (a prebuilt image instead of a build). */
export const PARITY_IMAGE = PARITY_JOB_NAME;
/** Never part of an image, wherever they appear under the sources (matches the ignore files). */
const NEVER_SHIPPED = new Set(['node_modules', '.mesh-data', 'test-artifacts', '.git']);
const NEVER_SHIPPED_FILE = /\.log$/;

/** Tag prefix of built images; the Artifact Registry cleanup policy matches on it. */
export const IMAGE_TAG_PREFIX = 'src-';
/** Artifact Registry keeps this many newest versions per image (a build is ~3: index, image, attestation). */
export const IMAGE_KEEP_VERSIONS = 15;
/** ...and deletes any other version older than this. */
export const IMAGE_MAX_AGE = '30d';

export const servicesToBuild = (spec: MeshSpec, config: MeshConfig): string[] => Object.keys(spec.services).filter((s) => !config.images[s]);

/** Whether `pulumi up` builds the parity job's image: the spec schedules parity and no prebuilt image is set. */
export const buildsParityImage = (spec: MeshSpec, config: MeshConfig): boolean => runsScheduledParity(spec) && !config.images[PARITY_IMAGE];

/** Whether anything is built (and so pushed to the stack's Artifact Registry repository). */
export const buildsImages = (spec: MeshSpec, config: MeshConfig): boolean => servicesToBuild(spec, config).length > 0 || buildsParityImage(spec, config);

const insideSources = (relative: string) =>
  !relative.startsWith('..') && !path.isAbsolute(relative) && IMAGE_SOURCES.some((s) => relative === s || relative.startsWith(`${s}/`));

/**
 * Where the spec is inside the image (/app is the repository root). Only a spec whose file and schema
 * folders are among IMAGE_SOURCES is in the image; otherwise the image carries the repository's mesh.yaml.
 */
export function specPathInImage(spec: MeshSpec): string {
  const rel = (file: string) => path.relative(REPO_ROOT, file).split(path.sep).join('/');
  const shipped = [spec.file, ...Object.values(spec.topics).map((t) => t.schema.dir)].every((f) => insideSources(rel(f)));
  return shipped ? path.posix.join('/app', rel(spec.file)) : '/app/mesh.yaml';
}

/**
 * sha256 over every file of IMAGE_SOURCES and BUILD_FILES under `root` (path and content, sorted), so
 * the same tree gives the same hash on any machine; missing entries are skipped.
 */
export function imageSourceHash(root: string = REPO_ROOT, sources: readonly string[] = IMAGE_SOURCES, buildFiles: readonly string[] = BUILD_FILES): string {
  const files: string[] = [];
  const walk = (relative: string) => {
    const absolute = path.join(root, relative);
    if (!fs.existsSync(absolute)) return;
    if (fs.statSync(absolute).isDirectory()) {
      for (const entry of fs.readdirSync(absolute)) if (!NEVER_SHIPPED.has(entry)) walk(path.posix.join(relative, entry));
    } else if (!NEVER_SHIPPED_FILE.test(relative)) files.push(relative);
  };
  for (const entry of [...sources, ...buildFiles]) walk(entry);
  const hash = createHash('sha256');
  for (const file of files.sort())
    hash
      .update(`${file}\0`)
      .update(fs.readFileSync(path.join(root, file)))
      .update('\0');
  return hash.digest('hex');
}

/** The tag of one service's image: the sources and its build args (in name order, so key order never matters). */
export const imageTag = (sourceHash: string, buildArgs: Record<string, string>) =>
  `${IMAGE_TAG_PREFIX}${createHash('sha256')
    .update(sourceHash)
    .update(JSON.stringify(Object.entries(buildArgs).sort(([a], [b]) => a.localeCompare(b))))
    .digest('hex')
    .slice(0, 20)}`;

/**
 * Keep the newest IMAGE_KEEP_VERSIONS versions of each image, delete the rest once older than
 * IMAGE_MAX_AGE. A keep rule wins over a delete rule and keep rules alone delete nothing; the policies run
 * as a background job about daily (https://cloud.google.com/artifact-registry/docs/repositories/cleanup-policy-overview).
 * Untagged versions (the children of a build's image index) age out with their build; the deployed
 * build is always among the newest, so its children are kept.
 */
export const imageCleanupPolicies = (): gcp.types.input.artifactregistry.RepositoryCleanupPolicy[] => [
  { id: 'keep-recent', action: 'KEEP', mostRecentVersions: { keepCount: IMAGE_KEEP_VERSIONS } },
  { id: 'delete-old', action: 'DELETE', condition: { tagState: 'ANY', olderThan: IMAGE_MAX_AGE } },
];

/** Where built images go: one Artifact Registry repository per stack, created only when something is built. */
function imageRepository(ctx: MeshContext): gcp.artifactregistry.Repository {
  const { project, region, imageRepository } = ctx.config;
  return new gcp.artifactregistry.Repository(
    'images',
    {
      project,
      location: region,
      repositoryId: imageRepository,
      format: 'DOCKER',
      description: 'Event mesh service images',
      labels: meshLabels(),
      cleanupPolicyDryRun: false,
      cleanupPolicies: imageCleanupPolicies(),
    },
    resourceOptions(ctx),
  );
}

interface ImageBuild {
  /** Resource name and image name in the repository. */
  name: string;
  dockerfile: string;
  sourceHash: string;
  buildArgs: Record<string, string>;
}

/** Builds and pushes one image; returns its tag@digest reference. */
function buildImage(ctx: MeshContext, repository: gcp.artifactregistry.Repository, build: ImageBuild): pulumi.Output<string> {
  const { project, region } = ctx.config;
  const registry = `${region}-docker.pkg.dev`;
  // Short-lived token of whoever runs `pulumi up`; secret so it never lands in state in clear. A new
  // token each run does not make the image differ: docker-build's Image.Diff ignores a registry's
  // password (https://github.com/pulumi/pulumi-docker-build/blob/v0.0.22/provider/internal/image.go,
  // "we ignore password changes"). Not ignoreChanges: that would make a real rebuild push with the
  // expired token kept in state.
  const token = gcp.organizations.getClientConfigOutput({ parent: ctx.parent }).accessToken;
  // Relative to the project directory (Pulumi's working directory) so the inputs match on every machine.
  const context = path.relative(process.cwd(), REPO_ROOT) || '.';
  const image = new dockerBuild.Image(
    `${build.name}-image`,
    {
      tags: [pulumi.interpolate`${registry}/${project}/${repository.repositoryId}/${build.name}:${imageTag(build.sourceHash, build.buildArgs)}`],
      context: { location: context },
      dockerfile: { location: path.join(context, build.dockerfile) },
      buildArgs: build.buildArgs,
      platforms: ['linux/amd64'], // Cloud Run runs amd64
      push: true,
      // `pulumi preview` shows what would change without building every image (the default is true).
      buildOnPreview: false,
      registries: [{ address: registry, username: 'oauth2accesstoken', password: pulumi.secret(token) }],
    },
    {
      ...resourceOptions(ctx, repository),
      // Deleting a tag would use the access token saved in state, long expired at destroy time; the
      // repository's deletion removes the images anyway, and the cleanup policy old versions.
      retainOnDelete: true,
    },
  );
  return image.ref;
}

export interface MeshImages {
  /** Per service: a prebuilt reference from stack config, or the built image. */
  services: Record<string, pulumi.Input<string>>;
  /** The parity job's image, when the spec schedules parity. */
  parity?: pulumi.Input<string>;
}

export function meshImages(ctx: MeshContext): MeshImages {
  const services: Record<string, pulumi.Input<string>> = {};
  for (const name of Object.keys(ctx.spec.services)) if (ctx.config.images[name]) services[name] = ctx.config.images[name];
  const images: MeshImages = { services, parity: runsScheduledParity(ctx.spec) ? ctx.config.images[PARITY_IMAGE] : undefined };
  if (!buildsImages(ctx.spec, ctx.config)) return images;
  if (specPathInImage(ctx.spec) === '/app/mesh.yaml' && path.relative(REPO_ROOT, ctx.spec.file) !== 'mesh.yaml') {
    void pulumi.log.warn(
      `${ctx.spec.file} (or its schemas) is not among the image sources (${IMAGE_SOURCES.join(', ')}), so built images carry the repository's mesh.yaml instead; set event-mesh:images or move the spec`,
      ctx.parent,
    );
  }
  const repository = imageRepository(ctx);
  const meshSpec = specPathInImage(ctx.spec);
  const serviceSources = imageSourceHash();
  for (const service of servicesToBuild(ctx.spec, ctx.config)) {
    services[service] = buildImage(ctx, repository, {
      name: service,
      dockerfile: DOCKERFILE,
      sourceHash: serviceSources,
      buildArgs: { SERVICE: service, MESH_SPEC: meshSpec },
    });
  }
  if (buildsParityImage(ctx.spec, ctx.config)) {
    images.parity = buildImage(ctx, repository, {
      name: PARITY_IMAGE,
      dockerfile: PARITY_DOCKERFILE,
      sourceHash: imageSourceHash(REPO_ROOT, PARITY_IMAGE_SOURCES, PARITY_BUILD_FILES),
      buildArgs: { MESH_SPEC: meshSpec },
    });
  }
  return images;
}
