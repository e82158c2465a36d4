/**
 * The one entry point every services/<name>/index.ts calls: reads the environment (env.ts), builds
 * the service with the options they all share, runs it (runService: SIGTERM -> graceful stop) and
 * exits 1 with a fatal log line if it cannot start.
 */
import { loadSpec } from '../spec';
import { ControlWatcher } from '../operations/controls';
import { firestoreFromEnv, hostFromEnv, portFromEnv, projectFromEnv, pubsubFromEnv, pullTransportFromEnv, pushAuthFromEnv, usingEmulators } from './env';
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
