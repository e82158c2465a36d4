import { PubSub } from '@google-cloud/pubsub';
import { jvmEnv } from './jvm';
import { startEmulatorProcess, type RunningProcess } from './process';
import { findEmulator } from './sdk';
import { onFreePort } from './ports';

export interface EmulatorOptions {
  /** Default: a free port (freePort), another one if it is taken before the emulator binds it. */
  port?: number;
  host?: string;
  logFile?: string;
  /** JVM options of the emulator's java. Default MESH_EMULATOR_JVM_OPTS, else C1 only (see jvm.ts). */
  jvmOptions?: string;
}

export interface RunningEmulator {
  /** host:port, the value of PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST. */
  hostPort: string;
  process: RunningProcess;
  stop(): Promise<void>;
}

export async function startPubsubEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const launcher = findEmulator('pubsub');
  const host = options.host ?? '127.0.0.1';
  return onFreePort(options.port, async (port) => {
    const proc = await startEmulatorProcess({
      name: 'pubsub',
      command: launcher,
      args: [`--host=${host}`, `--port=${port}`],
      readyUrl: `http://${host}:${port}/`,
      readyLog: `Server started, listening on ${port}`,
      logFile: options.logFile,
      env: jvmEnv(options.jvmOptions),
    });
    return { hostPort: `${host}:${port}`, process: proc, stop: () => proc.stop() };
  });
}

/**
 * A client bound to an emulator. Passing apiEndpoint explicitly (instead of relying on the
 * process-wide PUBSUB_EMULATOR_HOST) lets one process talk to several emulators in tests.
 */
export function emulatorPubSub(hostPort: string, projectId: string): PubSub {
  return new PubSub({ projectId, apiEndpoint: hostPort, emulatorMode: true });
}

/** Deletes every subscription, topic and schema of a project on the emulator (it has no reset). */
export async function resetPubsubProject(pubsub: PubSub): Promise<void> {
  const [subscriptions] = await pubsub.getSubscriptions();
  await Promise.all(subscriptions.map((s) => s.delete().catch(() => undefined)));
  const [topics] = await pubsub.getTopics();
  await Promise.all(topics.map((t) => t.delete().catch(() => undefined)));
  for await (const schema of pubsub.listSchemas()) {
    if (schema.name)
      await pubsub
        .schema(schema.name)
        .delete()
        .catch(() => undefined);
  }
}
