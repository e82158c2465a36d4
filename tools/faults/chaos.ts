/**
 * The fault suite's crashes: `kill -9` of a consumer service's process group at random moments while
 * traffic flows (npm start's supervisor starts it again, shared/local/supervisor.ts), and `kill -9`
 * of an emulator (the mesh starts it again on its port and, for Pub/Sub, applies the spec again).
 * Every kill is counted, so the run can tell its own kills from crashes: a restart it did not cause.
 */
import type { LocalMesh } from '../../shared/local';
import { prng } from '../load/traffic';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface KillRecord {
  target: string;
  pid: number;
  at: string;
  /** Seconds until the supervisor had it running again. */
  backAfterSeconds: number;
}

/** Waits until `ready()`; throws with `what` after `timeoutMs`. */
async function until(ready: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

async function ready(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Kills `service` `count` times, each after it has been ready for a random 0.5..`maxUpMs` (so some
 * kills land mid-batch, some mid-startup of its streams), and waits for it to be back.
 */
export async function killLoop(
  mesh: LocalMesh,
  name: string,
  options: { count: number; maxUpMs: number; seed: number; onKill?: (k: KillRecord) => void },
): Promise<KillRecord[]> {
  const service = mesh.services.find((s) => s.name === name);
  if (!service) throw new Error(`no service ${name} in the mesh`);
  const random = prng(options.seed);
  const kills: KillRecord[] = [];
  for (let i = 0; i < options.count; i++) {
    await until(async () => service.state === 'running' && (await ready(service.url)), 120_000, `${name} ready again`);
    await sleep(500 + random() * options.maxUpMs);
    const pid = service.pid;
    const before = service.restarts;
    const at = Date.now();
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      continue; // it exited on its own a moment ago: the supervisor has it
    }
    await until(() => service.restarts > before && service.state === 'running', 120_000, `${name} restarted`);
    const record = { target: name, pid, at: new Date(at).toISOString(), backAfterSeconds: Math.round((Date.now() - at) / 100) / 10 };
    kills.push(record);
    options.onKill?.(record);
  }
  return kills;
}

/** Kills an emulator's process group and waits for the mesh to have it running again. */
export async function killEmulator(mesh: LocalMesh, name: 'pubsub' | 'firestore'): Promise<KillRecord> {
  const emulator = mesh.emulators[name];
  const before = emulator.restarts;
  const pid = emulator.pid;
  const at = Date.now();
  process.kill(-pid, 'SIGKILL');
  await until(() => emulator.restarts > before && emulator.state === 'running', 180_000, `the ${name} emulator restarted`);
  return { target: `${name} emulator`, pid, at: new Date(at).toISOString(), backAfterSeconds: Math.round((Date.now() - at) / 100) / 10 };
}

/** Restarts the supervisor counted that no kill of ours explains. */
export function crashesOf(mesh: LocalMesh, kills: KillRecord[]): Record<string, number> {
  const ours = (target: string) => kills.filter((k) => k.target === target).length;
  const crashes: Record<string, number> = {};
  for (const s of mesh.services) crashes[s.name] = Math.max(0, s.restarts - ours(s.name));
  for (const name of ['pubsub', 'firestore'] as const) crashes[`${name} emulator`] = Math.max(0, mesh.emulators[name].restarts - ours(`${name} emulator`));
  return crashes;
}
