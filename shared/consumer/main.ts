/**
 * The one entry point every services/<name>/index.ts calls: reads the environment (env.ts), builds
 * the service with the options they all share, runs it (runService: SIGTERM -> graceful stop) and
 * exits 1 with a fatal log line if it cannot start.
 */
import { loadSpec } from '../spec';
import { randomUUID } from 'node:crypto';
import { recordedAutoAbort } from '../canary/audited';
import { CanaryRuntime } from '../canary/runtime';
import { OperationsAudit } from '../operations/audit';
import { ControlWatcher } from '../operations/controls';
import {
  bigqueryFromEnv,
  firestoreFromEnv,
  hostFromEnv,
  portFromEnv,
  projectFromEnv,
  pubsubFromEnv,
  pullTransportFromEnv,
  pushAuthFromEnv,
  usingEmulators,
} from './env';
import { createLogger, type Logger } from './logger';
import type { MeshService, ServiceAppOptions } from './service';
import { runService } from './shutdown';

export interface ServiceEnvironment {
  /** spec, pubsub, push auth, logger and trace project, ready to spread into create<Name>App. */
  common: ServiceAppOptions;
  projectId: string;
  log: Logger;
}

export function runServiceFromEnv(serviceName: string, build: (env: ServiceEnvironment) => MeshService | Promise<MeshService>): void {
  const log = createLogger({ service: serviceName });
  const main = async () => {
    // On the emulators there is no metadata server: do not let google-auth-library probe for one.
    if (usingEmulators()) process.env.METADATA_SERVER_DETECTION ??= 'none';
    const spec = loadSpec();
    const projectId = projectFromEnv(spec);
    const common: ServiceAppOptions = {
      spec,
      pubsub: pubsubFromEnv(projectId),
      verifyPushAuth: pushAuthFromEnv(),
      pullTransport: pullTransportFromEnv(),
      log,
      traceProject: usingEmulators() ? undefined : projectId,
      controls: controlsFor(spec, serviceName, projectId, log),
      canary: canaryFor(spec, serviceName, projectId, log),
    };
    const service = await build({ common, projectId, log });
    await runService(service, { port: portFromEnv(spec, serviceName), host: hostFromEnv(), log });
  };
  main().catch((error: Error) => {
    log.fatal({ err: error }, `${serviceName} failed to start: ${error.message}`);
    process.exit(1);
  });
}

/**
 * A service with pull consumers follows their controls (`mesh pause`, shared/operations/controls.ts)
 * in Firestore; MESH_CONSUMER_CONTROLS=off turns that off (the consumer can then not be paused).
 */
function controlsFor(spec: ServiceAppOptions['spec'], serviceName: string, projectId: string, log: Logger): ControlWatcher | undefined {
  const pulls = spec.services[serviceName]?.consumers.some((name) => spec.consumers[name]?.delivery === 'pull');
  if (!pulls || process.env.MESH_CONSUMER_CONTROLS === 'off') return undefined;
  return new ControlWatcher({ db: firestoreFromEnv(projectId), log });
}

/**
 * Every service with push or pull consumers follows their canaries (shared/canary/runtime.ts):
 * MESH_CANARY_OF=<consumer> makes this process the canary of that consumer; otherwise it is the
 * stable side, which splits while a canary runs and aborts one past its threshold (recorded in
 * operations_audit when it can write there). MESH_CANARIES=on|off; default on the emulators only: in
 * GCP following canaries needs grants, which infra gives, with MESH_CANARIES=on, to the services whose
 * consumers the stack deploys a canary of (infra/canaries.ts).
 */
function canaryFor(spec: ServiceAppOptions['spec'], serviceName: string, projectId: string, log: Logger): CanaryRuntime | undefined {
  const delivers = spec.services[serviceName]?.consumers.some((name) => ['push', 'pull'].includes(spec.consumers[name]?.delivery ?? ''));
  // On the emulators only where the Firestore emulator is there to hold the canaries.
  const byDefault = usingEmulators() && process.env.FIRESTORE_EMULATOR_HOST ? 'on' : 'off';
  if (!delivers || (process.env.MESH_CANARIES ?? byDefault) === 'off') return undefined;
  const db = firestoreFromEnv(projectId);
  const canaryOf = process.env.MESH_CANARY_OF?.trim();
  const target = () => ({
    pubsub: pubsubFromEnv(projectId),
    firestore: db,
    audit: new OperationsAudit(bigqueryFromEnv(projectId, spec.warehouse.location), spec, projectId),
  });
  return new CanaryRuntime({
    db,
    log,
    instance: randomUUID(),
    role: canaryOf ? { kind: 'canary', consumer: canaryOf } : { kind: 'stable' },
    onAborted: (control, verdict) => recordedAutoAbort(target(), spec.consumers[control.consumer], control, verdict, log, usingEmulators()),
    // Locally the canary is a process of its own, which stops when its canary ends (runService's SIGTERM
    // path). In GCP it is a deployment (infra/canaries.ts) that stays until the stack config drops it.
    onEnded: usingEmulators() ? () => process.kill(process.pid, 'SIGTERM') : undefined,
  });
}
