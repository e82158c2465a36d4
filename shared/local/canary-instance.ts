/**
 * A canary instance on this machine: a second process of a consumer's service, started from the
 * build under test (an entry file), with the environment the local services get plus
 * MESH_CANARY_OF, on a port of its own. It outlives the command that starts it (`mesh canary start`
 * returns) and stops itself when its canary ends (shared/canary/runtime.ts); a promote or abort also
 * sends it SIGTERM as a backstop.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { localBigQueryUrl } from '../bigquery-local/address';
import { freePort } from '../emulators/ports';
import { tail } from '../emulators/process';
import { UserError } from '../errors';
import type { ConsumerSpec, MeshSpec } from '../spec/types';
import { localFirestoreHost, localPubsubHost } from './connect';
import { LOCAL_SERVICE_NODE_ARGS, localServiceEnv, REPO_ROOT, serviceEntry } from './services';

export interface CanaryInstance {
  pid: number;
  port: number;
  logFile: string;
}

/** The default build of a canary: the service's own entry (the code checked out here). */
export const defaultCanaryBuild = (consumer: ConsumerSpec) => path.relative(REPO_ROOT, serviceEntry(consumer.service!));

/** Starts the canary process of `consumer` from `build` and resolves once its /readyz answers 200. */
export async function startCanaryInstance(spec: MeshSpec, consumer: ConsumerSpec, build: string, readyTimeoutMs = 90_000): Promise<CanaryInstance> {
  const entry = path.resolve(REPO_ROOT, build);
  if (!fs.existsSync(entry)) throw new UserError(`the canary build ${build} does not exist`, { where: '--build' });
  const port = await freePort();
  const logDir = path.join(path.resolve(REPO_ROOT, spec.local.dataDir), 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `${consumer.name}-canary.log`);
  const log = fs.openSync(logFile, 'a');
  const endpoints = { pubsubHost: localPubsubHost(spec), firestoreHost: localFirestoreHost(spec), bigqueryUrl: localBigQueryUrl(spec) };
  const child = spawn(process.execPath, [...LOCAL_SERVICE_NODE_ARGS, entry], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, ...localServiceEnv(spec, consumer.service!, endpoints), PORT: String(port), MESH_CANARY_OF: consumer.name },
  });
  fs.closeSync(log);
  child.unref();
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = String(code ?? signal)));
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new UserError(`the canary of ${consumer.name} exited (${exited}) before it was ready:\n${tail(logFile)}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return { pid: child.pid!, port, logFile };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  stopCanaryInstance(child.pid!);
  throw new UserError(`the canary of ${consumer.name} was not ready after ${readyTimeoutMs / 1000} s:\n${tail(logFile)}`);
}

/** SIGTERM to the canary's process group (it drains and exits); nothing when it is gone already. */
export function stopCanaryInstance(pid: number): void {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // gone
  }
}
