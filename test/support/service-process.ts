/**
 * Runs a service (`services/<name>/index.ts`) as a child process for the system tests that signal
 * it (SIGTERM, SIGKILL) and restart it, capturing its JSON log lines. Every process started here is
 * remembered so the test can kill whatever is still running in afterAll (killAll).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { eventually } from './emulators';
import { REPO_ROOT } from './specs';
import { TYPESCRIPT_NODE_ARGS } from '../../shared/local/services';

export interface ServiceProcess {
  child: ChildProcess;
  /** stdout, one parsed JSON object per line ({ raw } for a line that is not JSON). */
  lines: Record<string, unknown>[];
  /** stdout and stderr as text, for failure messages. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];

/** Starts `services/<service>/index.ts` with process.env plus `env`. */
export function startServiceProcess(service: string, env: NodeJS.ProcessEnv): ServiceProcess {
  // node itself, not npx: npx would take the signals (SIGTERM) meant for the service.
  const child = spawn(process.execPath, [...TYPESCRIPT_NODE_ARGS, `services/${service}/index.ts`], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  let output = '';
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    buffered += text;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const line of parts) {
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ raw: line });
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, lines, output: () => output, exited };
}

/** SIGKILLs every process started by startServiceProcess that is still running (for afterAll). */
export function killAll(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** GETs `baseUrl + route` and returns its JSON body, or undefined if the request fails or is not 2xx. */
export async function getJson<T>(baseUrl: string, route: string): Promise<T | undefined> {
  try {
    const res = await fetch(`${baseUrl}${route}`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

/** Polls `baseUrl`/readyz until it answers 200, or fails after `timeoutMs`. */
export async function waitReady(baseUrl: string, timeoutMs = 45000, what = 'the service to be ready'): Promise<void> {
  await eventually(
    async () => {
      const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    },
    timeoutMs,
    what,
  );
}
