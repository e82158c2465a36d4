/**
 * Stack configuration (Pulumi.<stack>.yaml), read once, typed and validated together with the spec.
 * The program is a function of (spec, config): nothing else varies between stacks.
 *
 *   gcp:project                  required; the GCP project to deploy into
 *   gcp:region                   default us-central1; Cloud Run, Artifact Registry
 *   event-mesh:specFile          default ../mesh.yaml, relative paths resolve against infra/
 *   event-mesh:deletionProtection  default true: Cloud Run services, BigQuery dataset contents and tables
 *                                and the Firestore database survive `pulumi destroy`
 *   event-mesh:alertChannels     default []: notification channel ids (projects/p/notificationChannels/n or just n)
 *                                every alert goes to, besides its owner's channels (infra/owners.ts)
 *   event-mesh:scaling           default {default: {minInstances: 0, maxInstances: 10}}; per service
 *                                {minInstances, maxInstances}; services that pull default to minInstances 1
 *   event-mesh:ingress           per service: internal | internal-and-cloud-load-balancing | all
 *                                (default: internal; dashboard internal-and-cloud-load-balancing)
 *   event-mesh:images            per service (and mesh-parity, the parity job): a prebuilt image; those
 *                                not listed are built from services/Dockerfile (tools/Dockerfile) and
 *                                pushed to Artifact Registry
 *   event-mesh:imageRepository   default event-mesh: Artifact Registry repository for built images
 *   event-mesh:firestoreLocation default: gcp:region
 *   event-mesh:dashboardViewers  default []: principals (user:, group:, domain:, serviceAccount:) who may open
 *                                the dashboard; makes its ingress default to `all` (still IAM-authenticated)
 *   event-mesh:replayOperators   default []: principals who run `mesh replay --gcp` and `mesh dead-letters
 *                                --redrive --gcp`: the only ones granted publish on the redrive topics
 *                                (infra/operators.ts)
 *   event-mesh:dashboardAccess   iam (default: viewers get run.invoker, open it through `gcloud run services
 *                                proxy`) | iap (IAP on the Cloud Run service; refused while it receives push)
 *   event-mesh:ignorePausedState default false: when `pulumi up` cannot read which consumers are paused
 *                                (infra/paused.ts), deploy as if none were instead of failing
 *   event-mesh:canaries          default {}: per consumer {image, share} ("5%"): deploys a canary of it
 *                                (infra/canaries.ts) that `mesh canary start <consumer> --gcp` then runs
 */
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { loadSpec, MeshSpecError, type MeshSpec } from '../shared/spec';
import { type CloudRunIngress, DASHBOARD_SERVICE, defaultIngressOf, pullsMessages, receivesPush } from './profiles';
import { warehouseProblems } from '../shared/warehouse';
import { UserError } from '../shared/errors';
import { PARITY_JOB_NAME } from '../shared/parity';
import { parseShare } from '../shared/canary/routing';
import { canaryProblems } from './canary-config';

export interface Scaling {
  minInstances: number;
  maxInstances: number;
}

export interface MeshConfig {
  project: string;
  region: string;
  /** Absolute path of the mesh spec. */
  specFile: string;
  deletionProtection: boolean;
  /** Full notification channel names. */
  alertChannels: string[];
  /** Per service, after defaults. Read through scalingFor(). */
  scaling: Record<string, Partial<Scaling>>;
  ingress: Record<string, CloudRunIngress>;
  images: Record<string, string>;
  imageRepository: string;
  firestoreLocation: string;
  /** IAM principals who may open the dashboard. */
  dashboardViewers: string[];
  dashboardAccess: DashboardAccess;
  /** IAM principals who may replay and redrive (publish to the consumers' redrive topics). */
  replayOperators: string[];
  /** Deploy as if nothing were paused when the paused state cannot be read (infra/paused.ts). */
  ignorePausedState: boolean;
  /** Canary deployments by consumer (infra/canaries.ts): the image to try and its share of the buckets. */
  canaries: Record<string, CanaryDeployment>;
}

export interface CanaryDeployment {
  image: string;
  /** Percent of the buckets (shared/canary/routing.ts). */
  share: number;
}

/** How viewers reach the dashboard: Cloud Run IAM (run.invoker + gcloud proxy) or IAP on the service. */
export type DashboardAccess = 'iam' | 'iap';

/** The config as written in the stack file (every key optional except gcp:project). */
export interface RawMeshConfig {
  project?: string;
  region?: string;
  specFile?: string;
  deletionProtection?: boolean;
  alertChannels?: string[];
  scaling?: Record<string, Partial<Scaling>>;
  ingress?: Record<string, string>;
  images?: Record<string, string>;
  imageRepository?: string;
  firestoreLocation?: string;
  dashboardViewers?: string[];
  dashboardAccess?: string;
  replayOperators?: string[];
  ignorePausedState?: boolean;
  canaries?: Record<string, { image?: unknown; share?: unknown }>;
}

export const INFRA_DIR = __dirname;
export const REPO_ROOT = path.resolve(__dirname, '..');
export const DEFAULT_SPEC_FILE = '../mesh.yaml';
export const DEFAULT_REGION = 'us-central1';
export const DEFAULT_SCALING: Scaling = { minInstances: 0, maxInstances: 10 };

const INGRESS: Record<string, CloudRunIngress> = {
  internal: 'INGRESS_TRAFFIC_INTERNAL_ONLY',
  'internal-and-cloud-load-balancing': 'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER',
  all: 'INGRESS_TRAFFIC_ALL',
  INGRESS_TRAFFIC_INTERNAL_ONLY: 'INGRESS_TRAFFIC_INTERNAL_ONLY',
  INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER: 'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER',
  INGRESS_TRAFFIC_ALL: 'INGRESS_TRAFFIC_ALL',
};

/** Bad stack config: one line per problem, like MeshSpecError. */
export class MeshConfigError extends UserError {
  override readonly name = 'MeshConfigError';
  constructor(readonly problems: string[]) {
    super(`stack config has ${problems.length} error${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** Typed config with defaults; throws MeshConfigError listing every problem of shape. */
export function parseMeshConfig(raw: RawMeshConfig): MeshConfig {
  const problems: string[] = [];
  const project = raw.project ?? '';
  if (!project) problems.push('gcp:project is required: pulumi config set gcp:project <project-id>');
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

  const scaling: Record<string, Partial<Scaling>> = {};
  if (raw.scaling !== undefined && !isRecord(raw.scaling))
    problems.push('event-mesh:scaling must be a map of service (or "default") to {minInstances, maxInstances}');
  for (const [service, value] of Object.entries(isRecord(raw.scaling) ? raw.scaling : {})) {
    if (!isRecord(value)) {
      problems.push(`event-mesh:scaling.${service} must be {minInstances, maxInstances}`);
      continue;
    }
    for (const key of Object.keys(value)) {
      if (key !== 'minInstances' && key !== 'maxInstances') problems.push(`event-mesh:scaling.${service}: unknown key "${key}" (minInstances, maxInstances)`);
      else if (!Number.isInteger(value[key]) || (value[key] as number) < 0) problems.push(`event-mesh:scaling.${service}.${key} must be a whole number >= 0`);
    }
    scaling[service] = value;
  }

  const ingress: Record<string, CloudRunIngress> = {};
  for (const [service, value] of Object.entries(raw.ingress ?? {})) {
    const mapped = INGRESS[value];
    if (!mapped) problems.push(`event-mesh:ingress.${service} must be internal, internal-and-cloud-load-balancing or all, got "${value}"`);
    else ingress[service] = mapped;
  }

  const images: Record<string, string> = {};
  for (const [service, value] of Object.entries(raw.images ?? {})) {
    if (typeof value !== 'string' || !value) problems.push(`event-mesh:images.${service} must be an image reference`);
    else images[service] = value;
  }

  const alertChannels = (raw.alertChannels ?? []).map((channel) => {
    if (typeof channel !== 'string' || !channel) {
      problems.push('event-mesh:alertChannels must be a list of notification channel ids');
      return '';
    }
    return channel.startsWith('projects/') ? channel : `projects/${project}/notificationChannels/${channel}`;
  });

  const dashboardViewers = raw.dashboardViewers ?? [];
  if (!Array.isArray(dashboardViewers))
    problems.push('event-mesh:dashboardViewers must be a list of principals (user:a@example.com, group:team@example.com ...)');
  else {
    for (const viewer of dashboardViewers) {
      if (typeof viewer !== 'string' || !PRINCIPAL.test(viewer))
        problems.push(`event-mesh:dashboardViewers: "${String(viewer)}" is not a principal (user:, group:, domain: or serviceAccount:<email or domain>)`);
    }
  }
  const replayOperators = raw.replayOperators ?? [];
  if (!Array.isArray(replayOperators))
    problems.push('event-mesh:replayOperators must be a list of principals (user:a@example.com, group:oncall@example.com ...)');
  else
    for (const operator of replayOperators)
      if (typeof operator !== 'string' || !PRINCIPAL.test(operator))
        problems.push(`event-mesh:replayOperators: "${String(operator)}" is not a principal (user:, group:, domain: or serviceAccount:<email or domain>)`);
  const dashboardAccess = raw.dashboardAccess ?? 'iam';
  if (dashboardAccess !== 'iam' && dashboardAccess !== 'iap') problems.push(`event-mesh:dashboardAccess must be iam or iap, got "${dashboardAccess}"`);
  if (raw.ignorePausedState !== undefined && typeof raw.ignorePausedState !== 'boolean')
    problems.push(`event-mesh:ignorePausedState must be true or false, got "${String(raw.ignorePausedState)}"`);

  const canaries: Record<string, CanaryDeployment> = {};
  if (raw.canaries !== undefined && !isRecord(raw.canaries)) problems.push('event-mesh:canaries must be a map of consumer to {image, share}');
  for (const [consumer, value] of Object.entries(isRecord(raw.canaries) ? raw.canaries : {})) {
    const image = isRecord(value) ? value.image : undefined;
    if (typeof image !== 'string' || !image) problems.push(`event-mesh:canaries.${consumer}.image must be an image reference`);
    try {
      const share = parseShare(String(isRecord(value) ? value.share : ''));
      if (typeof image === 'string' && image) canaries[consumer] = { image, share };
    } catch (error) {
      problems.push(`event-mesh:canaries.${consumer}.share: ${(error as Error).message}`);
    }
  }

  if (problems.length) throw new MeshConfigError(problems);
  const region = raw.region || DEFAULT_REGION;
  return {
    project,
    region,
    specFile: path.resolve(INFRA_DIR, raw.specFile ?? DEFAULT_SPEC_FILE),
    deletionProtection: raw.deletionProtection ?? true,
    alertChannels,
    scaling,
    ingress,
    images,
    imageRepository: raw.imageRepository ?? 'event-mesh',
    firestoreLocation: raw.firestoreLocation ?? region,
    dashboardViewers: dashboardViewers,
    dashboardAccess: dashboardAccess as DashboardAccess,
    replayOperators,
    ignorePausedState: raw.ignorePausedState ?? false,
    canaries,
  };
}

/** Named principals only: allUsers / allAuthenticatedUsers never match, nothing in the mesh is public. */
const PRINCIPAL = /^(user|group|serviceAccount):[^@\s]+@[^@\s]+$|^domain:[a-z0-9.-]+$/;

/** Min/max instances of a service: its own entry, then `default`, then built-in defaults. */
export function scalingFor(config: MeshConfig, spec: MeshSpec, service: string): Scaling {
  // A pulling service has no request to wake it up: keep one instance running unless told otherwise.
  const pulls = pullsMessages(spec, service);
  const base: Scaling = { ...DEFAULT_SCALING, minInstances: pulls ? 1 : DEFAULT_SCALING.minInstances };
  const scaling = { ...base, ...config.scaling.default, ...config.scaling[service] };
  // `default` (minInstances 0 in the example stack) is meant for push services: it does not take a
  // pulling service below one instance; only the service's own entry can (and configProblems refuses it).
  if (pulls && config.scaling[service]?.minInstances === undefined) scaling.minInstances = Math.max(1, scaling.minInstances);
  return scaling;
}

/**
 * Ingress of a service: stack config, else its profile. A dashboard with viewers defaults to `all`: they
 * come from the internet to its run.app URL (`gcloud run services proxy` "will not work from outside the
 * service's VPC network" with internal ingress: https://cloud.google.com/sdk/gcloud/reference/run/services/proxy),
 * and Cloud Run still checks IAM (or IAP) on every request.
 */
export function ingressFor(config: MeshConfig, service: string): CloudRunIngress {
  if (config.ingress[service]) return config.ingress[service];
  if (service === DASHBOARD_SERVICE && config.dashboardViewers.length) return 'INGRESS_TRAFFIC_ALL';
  return defaultIngressOf(service);
}

/** Problems that need both the config and the spec (unknown service names, impossible scaling). */
export function configProblems(config: MeshConfig, spec: MeshSpec): string[] {
  const problems: string[] = [];
  const services = Object.keys(spec.services);
  const known = (key: string, name: string, extra: string[] = []) => {
    if (!services.includes(name) && !extra.includes(name)) problems.push(`event-mesh:${key}.${name}: unknown service (services: ${services.join(', ')})`);
  };
  for (const name of Object.keys(config.scaling)) known('scaling', name, ['default']);
  for (const name of Object.keys(config.ingress)) known('ingress', name);
  for (const name of Object.keys(config.images)) known('images', name, [PARITY_JOB_NAME]);
  for (const service of services) {
    const scaling = scalingFor(config, spec, service);
    if (scaling.maxInstances < 1) problems.push(`event-mesh:scaling.${service}: maxInstances must be at least 1`);
    if (scaling.minInstances > scaling.maxInstances)
      problems.push(`event-mesh:scaling.${service}: minInstances ${scaling.minInstances} exceeds maxInstances ${scaling.maxInstances}`);
    if (pullsMessages(spec, service) && scaling.minInstances < 1) {
      problems.push(
        `event-mesh:scaling.${service}: minInstances must be at least 1 because ${service} pulls (${spec.services[service].consumers.filter((c) => spec.consumers[c].delivery === 'pull').join(', ')}) and nothing would wake it at 0`,
      );
    }
  }
  problems.push(...canaryProblems(config, spec));
  if (config.dashboardViewers.length && !services.includes(DASHBOARD_SERVICE))
    problems.push(`event-mesh:dashboardViewers: the spec has no ${DASHBOARD_SERVICE} service`);
  if (config.dashboardAccess === 'iap' && receivesPush(spec, DASHBOARD_SERVICE)) {
    // https://cloud.google.com/run/docs/securing/identity-aware-proxy-cloud-run (known limitations): IAP
    // checks every request first and replaces the caller's identity, so Pub/Sub push "might fail".
    problems.push(
      `event-mesh:dashboardAccess: iap would put IAP in front of Pub/Sub push to ${DASHBOARD_SERVICE} (${spec.services[DASHBOARD_SERVICE].consumers.filter((c) => spec.consumers[c].delivery === 'push').join(', ')}), which Google documents may then fail; use iam, or make those consumers pull`,
    );
  }
  return problems;
}

/** Reads the stack config through Pulumi. */
export function readRawConfig(): RawMeshConfig {
  const mesh = new pulumi.Config();
  const gcp = new pulumi.Config('gcp');
  return {
    project: gcp.get('project'),
    region: gcp.get('region'),
    specFile: mesh.get('specFile'),
    deletionProtection: mesh.getBoolean('deletionProtection'),
    alertChannels: mesh.getObject<string[]>('alertChannels'),
    scaling: mesh.getObject<Record<string, Partial<Scaling>>>('scaling'),
    ingress: mesh.getObject<Record<string, string>>('ingress'),
    images: mesh.getObject<Record<string, string>>('images'),
    imageRepository: mesh.get('imageRepository'),
    firestoreLocation: mesh.get('firestoreLocation'),
    dashboardViewers: mesh.getObject<string[]>('dashboardViewers'),
    replayOperators: mesh.getObject<string[]>('replayOperators'),
    dashboardAccess: mesh.get('dashboardAccess'),
    ignorePausedState: mesh.getBoolean('ignorePausedState'),
    canaries: mesh.getObject<RawMeshConfig['canaries']>('canaries'),
  };
}

/**
 * Stack config + spec, both validated before any resource exists. Fails the program with the spec
 * loader's messages (one line per problem) or the config problems, without a stack trace.
 */
export function loadMeshInputs(raw: RawMeshConfig = readRawConfig()): { config: MeshConfig; spec: MeshSpec } {
  try {
    const config = parseMeshConfig(raw);
    const spec = loadSpec(config.specFile);
    const problems = [...configProblems(config, spec), ...warehouseProblems(spec)];
    if (problems.length) throw new MeshConfigError(problems);
    return { config, spec };
  } catch (error) {
    if (error instanceof MeshSpecError || error instanceof MeshConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}
