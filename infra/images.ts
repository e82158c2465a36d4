/**
 * Container images of the services: a prebuilt image from stack config (`images`), or built from
 * services/Dockerfile (build arg SERVICE) with the repository root as context and pushed to an
 * Artifact Registry repository of the stack. Cloud Run gets `image.ref` (tag@digest), so each new
 * build rolls out a new revision and an unchanged build changes nothing.
 */
import * as path from 'node:path';
import * as dockerBuild from '@pulumi/docker-build';
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import type { MeshSpec } from '../shared/spec';
import { REPO_ROOT, type MeshConfig } from './config';
import { meshLabels, resourceOptions, type MeshContext } from './context';

export const DOCKERFILE = 'services/Dockerfile';

export const servicesToBuild = (spec: MeshSpec, config: MeshConfig): string[] => Object.keys(spec.services).filter((s) => !config.images[s]);

/** Where the spec is inside the image (the Dockerfile copies the repository to /app). */
export function specPathInImage(spec: MeshSpec): string {
  const relative = path.relative(REPO_ROOT, spec.file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return '/app/mesh.yaml';
  return path.posix.join('/app', ...relative.split(path.sep));
}

export function serviceImages(ctx: MeshContext): Record<string, pulumi.Input<string>> {
  const images: Record<string, pulumi.Input<string>> = { ...ctx.config.images };
  const toBuild = servicesToBuild(ctx.spec, ctx.config);
  if (!toBuild.length) return images;
  if (specPathInImage(ctx.spec) === '/app/mesh.yaml' && path.relative(REPO_ROOT, ctx.spec.file) !== 'mesh.yaml') {
    pulumi.log.warn(`${ctx.spec.file} is outside the repository, so built images carry the repository's mesh.yaml instead; set event-mesh:images or move the spec`, ctx.parent);
  }
  const { project, region, imageRepository } = ctx.config;
  const repository = new gcp.artifactregistry.Repository(
    'images',
    { project, location: region, repositoryId: imageRepository, format: 'DOCKER', description: 'Event mesh service images', labels: meshLabels() },
    resourceOptions(ctx),
  );
  const registry = `${region}-docker.pkg.dev`;
  // Short-lived token of whoever runs `pulumi up`; secret so it never lands in state in clear.
  const token = gcp.organizations.getClientConfigOutput({ parent: ctx.parent }).accessToken;
  // Relative to the project directory (Pulumi's working directory) so the inputs match on every machine.
  const context = path.relative(process.cwd(), REPO_ROOT) || '.';
  for (const service of toBuild) {
    const image = new dockerBuild.Image(
      `${service}-image`,
      {
        tags: [pulumi.interpolate`${registry}/${project}/${repository.repositoryId}/${service}:latest`],
        context: { location: context },
        dockerfile: { location: path.join(context, DOCKERFILE) },
        buildArgs: { SERVICE: service, MESH_SPEC: specPathInImage(ctx.spec) },
        platforms: ['linux/amd64'], // Cloud Run runs amd64
        push: true,
        registries: [{ address: registry, username: 'oauth2accesstoken', password: pulumi.secret(token) }],
      },
      resourceOptions(ctx, repository),
    );
    images[service] = image.ref;
  }
  return images;
}
