/**
 * The spec's services as local processes: `node --require tsx/cjs services/<name>/index.ts`, wired to the
 * emulators through the same environment variables Cloud Run sets from infra (shared/consumer/env.ts).
 * node itself is the child (no npx/tsx wrapper), so SIGTERM reaches the service's graceful stop.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EmulatorStartError, startEmulatorProcess, type ProcessExit, type RunningProcess } from '../emulators/process';
import type { MeshSpec } from '../spec/types';
import { UserError } from '../errors';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * How node runs a TypeScript entry here and in the image (services/Dockerfile): tsx's CommonJS hook.
 * Not `--import tsx`, whose ESM loader runs on a thread of its own: 15-18 MiB more RSS per service
 * at rest (`node --expose-gc -e "require('./services/dashboard/app.ts'); ..."`, both ways), for
 * code that is all CommonJS.
 */
export const TYPESCRIPT_NODE_ARGS: readonly string[] = ['--require', 'tsx/cjs'];

/**
 * V8's old-space limit for a local service, MiB: three quarters of the 256 MiB a service may hold
 * under load (issue 24; half the 512 MiB Cloud Run instance infra/services.ts gives it), the rest
 * left for code, stacks and buffers.
 *
 * Why: Node sizes V8's heap from the memory it sees. In a container that is the cgroup limit (Node 20
 * takes half of it: https://developers.redhat.com/articles/2025/10/10/nodejs-20-memory-management-containers);
 * on a developer's machine it is all of its RAM, here a 4 GiB heap that V8 fills lazily before it
 * collects. Measured with the local mesh at 75 and 150 events/s for 60 s: without a limit each
 * service peaked at 277-300 MiB RSS with 64-94 MiB of heap in use; with 128 or 160 MiB, at 178-200
 * MiB, at the same CPU and latency. So the RSS was garbage not yet collected, and a limit sized for
 * the instance shows what a service needs.
 */
export const LOCAL_SERVICE_HEAP_MIB = 192;

/** How a service of the local mesh (and its canary instance) is started: TypeScript, its heap sized as above. */
export const LOCAL_SERVICE_NODE_ARGS: readonly string[] = [...TYPESCRIPT_NODE_ARGS, `--max-old-space-size=${LOCAL_SERVICE_HEAP_MIB}`];

export interface LocalEndpoints {
  pubsubHost: string;
  firestoreHost: string;
  /** Base URL of the local BigQuery endpoint. */
  bigqueryUrl: string;
}

export interface RunningService {
  name: string;
  /** The service's process (and process group) id: a test may kill -9 it. */
  pid: number;
  url: string;
  logFile: string;
  /** Resolves when the process exits, whoever ended it. */
  exited: Promise<ProcessExit>;
  stop(): Promise<void>;
}

/** service name -> base URL on localhost, from the spec's local ports. */
export function localServiceUrls(spec: MeshSpec): Record<string, string> {
  return Object.fromEntries(Object.entries(spec.services).map(([name, s]) => [name, `http://127.0.0.1:${s.localPort}`]));
}

/** The entry point of a spec service; a clear error if the spec names a service with no code. */
export function serviceEntry(name: string): string {
  const entry = path.join(REPO_ROOT, 'services', name, 'index.ts');
  if (!fs.existsSync(entry)) {
    throw new UserError(`the spec names service "${name}" but ${path.relative(process.cwd(), entry)} does not exist`);
  }
  return entry;
}

/** The environment a service gets locally: what infra/services.ts sets on Cloud Run, pointed at the emulators. */
export function localServiceEnv(spec: MeshSpec, name: string, endpoints: LocalEndpoints): NodeJS.ProcessEnv {
  return {
    MESH_SPEC: spec.file,
    GOOGLE_CLOUD_PROJECT: spec.project,
    PUBSUB_EMULATOR_HOST: endpoints.pubsubHost,
    FIRESTORE_EMULATOR_HOST: endpoints.firestoreHost,
    BIGQUERY_EMULATOR_HOST: endpoints.bigqueryUrl,
    PORT: String(spec.services[name].localPort),
    // The emulator's pushes carry no OIDC token: verification is turned off explicitly, never by default.
    MESH_VERIFY_PUSH_AUTH: 'false',
    MESH_SERVICE_URLS: Object.entries(localServiceUrls(spec))
      .map(([n, url]) => `${n}=${url}`)
      .join(','),
    METADATA_SERVER_DETECTION: 'none',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  };
}

/** Starts one service and resolves once its /readyz answers 200 (pull streams open). */
export async function startLocalService(spec: MeshSpec, name: string, endpoints: LocalEndpoints, logDir: string): Promise<RunningService> {
  const entry = serviceEntry(name);
  const url = localServiceUrls(spec)[name];
  const logFile = path.join(logDir, `${name}.log`);
  let proc: RunningProcess;
  try {
    proc = await startEmulatorProcess({
      name,
      label: `${name} service`,
      command: process.execPath,
      cwd: REPO_ROOT,
      args: [...LOCAL_SERVICE_NODE_ARGS, entry],
      readyUrl: `${url}/readyz`,
      readyTimeoutMs: 90_000,
      logFile,
      env: localServiceEnv(spec, name, endpoints),
      // Services stop within 10 s of SIGTERM (Cloud Run's budget); a little slack before SIGKILL.
      stopGraceMs: 12_000,
    });
  } catch (error) {
    if (error instanceof EmulatorStartError) error.message += `\n(full log: ${logFile})`;
    throw error;
  }
  return { name, pid: proc.pid, url, logFile, exited: proc.exited, stop: () => proc.stop() };
}
