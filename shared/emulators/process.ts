/**
 * Runs an emulator as its own process group. The SDK wrappers fork `java`, so stopping only the
 * wrapper would leave the JVM holding the port: we always signal the whole group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { UserError } from '../errors';

export interface EmulatorProcessOptions {
  name: string;
  command: string;
  args: string[];
  /** GET this URL until it answers 200 to know the emulator is ready. */
  readyUrl: string;
  /**
   * Text the process's own log must show before the URL counts: another process that answers on the
   * same port (one that took it between freePort() and our bind) must not pass for this one.
   */
  readyLog?: string;
  /** Log text that means the port was taken; default Java's BindException and Node's EADDRINUSE. */
  portTakenLog?: RegExp;
  /** Default 60 s: a cold JVM on a busy 2-core machine can take a while. */
  readyTimeoutMs?: number;
  logFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Working directory; default the current one. */
  cwd?: string;
  /** How errors name the process; default `<name> emulator`. */
  label?: string;
  /** SIGKILL the group this long after SIGTERM; default 5000 ms (a service gets 10 s to drain). */
  stopGraceMs?: number;
}

export class EmulatorStartError extends UserError {
  override readonly name: string = 'EmulatorStartError';
}

/** The process could not bind its port: someone else holds it. Callers that chose the port may pick another. */
export class PortInUseError extends EmulatorStartError {
  override readonly name = 'PortInUseError';
}

const PORT_TAKEN = /java\.net\.BindException|EADDRINUSE|address already in use/i;

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningProcess {
  pid: number;
  logFile: string;
  /** Resolves when the process has exited, whoever ended it, and nothing of its group is left. */
  exited: Promise<ProcessExit>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Resolves once no process of the group is left, or after timeoutMs (a zombie nobody reaps stays). */
async function groupGone(pid: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(-pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Last resort if the parent exits without calling stop(): no JVM is left behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL');
  });
}

export async function startEmulatorProcess(options: EmulatorProcessOptions): Promise<RunningProcess> {
  installExitHook();
  const logFile = options.logFile ?? path.join(os.tmpdir(), `mesh-${options.name}-${process.pid}-${Date.now()}.log`);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.openSync(logFile, 'a');
  // The file may hold earlier runs' lines: start-up checks read only what this run writes.
  const logStart = fs.fstatSync(log).size;
  const child = spawn(options.command, options.args, {
    detached: true,
    cwd: options.cwd,
    stdio: ['ignore', log, log],
    env: { ...process.env, ...options.env },
  });
  fs.closeSync(log);
  live.add(child);
  let exited: ProcessExit | undefined;
  const exitPromise = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      const exit = (exited = { code, signal });
      live.delete(child);
      // The wrapper may exit before its JVM child (or alone, killed by hand): the JVM would keep the
      // port from a restart. Exited means the whole group is gone.
      killGroup(child, 'SIGKILL');
      void groupGone(child.pid!).then(() => resolve(exit));
    });
  });
  child.once('error', () => undefined);

  const stop = async () => {
    let timer: NodeJS.Timeout | undefined;
    if (!exited) {
      killGroup(child, 'SIGTERM');
      timer = setTimeout(() => killGroup(child, 'SIGKILL'), options.stopGraceMs ?? 5000);
    }
    await exitPromise;
    clearTimeout(timer);
  };

  const label = options.label ?? `${options.name} emulator`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60000);
  const portTaken = options.portTakenLog ?? PORT_TAKEN;
  while (Date.now() < deadline) {
    // The Pub/Sub emulator does not exit when its port is taken (it logs a BindException and hangs).
    const log = logHead(logFile, logStart);
    if (portTaken.test(log)) {
      await stop();
      throw new PortInUseError(`${label} could not bind its port (${options.readyUrl}): it is in use:\n${tail(logFile)}`);
    }
    if (exited) {
      throw new EmulatorStartError(`${label} exited (${exited.code ?? exited.signal}) before it was ready:\n${tail(logFile)}`);
    }
    try {
      if (options.readyLog === undefined || log.includes(options.readyLog)) {
        const response = await fetch(options.readyUrl, { signal: AbortSignal.timeout(1000) });
        if (response.ok) return { pid: child.pid!, logFile, exited: exitPromise, stop };
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new EmulatorStartError(`${label} was not ready after ${(options.readyTimeoutMs ?? 60000) / 1000}s:\n${tail(logFile)}`);
}

/** A log file from byte `from` on (where this run's start-up lines are), at most 64 KiB. */
function logHead(file: string, from: number): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const buffer = Buffer.alloc(64 * 1024);
    return buffer.toString('utf8', 0, fs.readSync(fd, buffer, 0, buffer.length, from));
  } catch {
    return '';
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The last lines of a log file, for an error message. */
export function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
