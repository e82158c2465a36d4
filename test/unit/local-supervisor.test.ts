/**
 * The local supervisor's rules (shared/local/supervisor.ts) on stand-in services: what it starts is
 * a promise, not a process, so crashes, failed starts and timing are exact. The processes themselves
 * are exercised in test/system/parity.test.ts (a SIGKILL mid-stream) and mesh-property.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProcessExit } from '../../shared/emulators/process';
import type { RunningService } from '../../shared/local/services';
import {
  readEmulatorStates,
  readServiceStates,
  supervise,
  superviseService,
  writeEmulatorStates,
  writeServiceStates,
  type SupervisorEvent,
} from '../../shared/local/supervisor';

/** A stand-in service: crash() ends it on its own, stop() as asked. */
function fakeService(pid: number) {
  let end!: (exit: ProcessExit) => void;
  const exited = new Promise<ProcessExit>((resolve) => (end = resolve));
  const service = {
    name: 'worker',
    pid,
    url: 'http://127.0.0.1:1',
    logFile: '/dev/null',
    exited,
    stopped: false,
    crash: (exit: ProcessExit = { code: null, signal: 'SIGKILL' }) => end(exit),
    stop: async () => {
      service.stopped = true;
      end({ code: 0, signal: null });
    },
  };
  return service;
}

type Fake = ReturnType<typeof fakeService>;
const until = async (check: () => boolean, ms = 2000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

it('starts a service that exits on its own again, with a backoff that doubles and resets after a stable run', async () => {
  const started: Fake[] = [];
  const events: SupervisorEvent[] = [];
  const start = async (): Promise<RunningService> => {
    const s = fakeService(100 + started.length);
    started.push(s);
    return s;
  };
  const service = await superviseService(start, { initialBackoffMs: 20, maxBackoffMs: 80, stableAfterMs: 400, onEvent: (e) => events.push(e) });
  expect(service.pid).toBe(100);
  for (let crash = 1; crash <= 4; crash++) {
    started[started.length - 1].crash();
    await until(() => started.length === crash + 1 && service.state === 'running');
  }
  expect(service.pid).toBe(104);
  expect(service.restarts).toBe(4);
  expect(service.lastExit).toMatchObject({ signal: 'SIGKILL' });
  expect(events.filter((e) => e.kind === 'exited').map((e) => (e as { retryInMs: number }).retryInMs)).toEqual([20, 40, 80, 80]);
  expect(events.filter((e) => e.kind === 'restarted').map((e) => (e as { pid: number }).pid)).toEqual([101, 102, 103, 104]);
  // Up longer than stableAfterMs: the next wait is the first one again.
  await new Promise((r) => setTimeout(r, 450));
  started[4].crash({ code: 1, signal: null });
  await until(() => started.length === 6);
  expect(events.filter((e) => e.kind === 'exited').at(-1)).toMatchObject({ retryInMs: 20, exit: { code: 1 } });
  await service.stop();
  expect(started[5].stopped).toBe(true);
});

it('keeps trying when a restart fails, and stop() ends a pending restart and the instance running', async () => {
  const started: Fake[] = [];
  const events: SupervisorEvent[] = [];
  let failNext = 0;
  const start = async (): Promise<RunningService> => {
    if (failNext > 0) {
      failNext--;
      throw new Error('port 1 is taken');
    }
    const s = fakeService(200 + started.length);
    started.push(s);
    return s;
  };
  const service = await superviseService(start, { initialBackoffMs: 10, onEvent: (e) => events.push(e) });
  failNext = 2;
  started[0].crash();
  await until(() => started.length === 2 && service.state === 'running');
  expect(events.map((e) => e.kind)).toEqual(['exited', 'restart-failed', 'restart-failed', 'restarted']);
  expect(events[1]).toMatchObject({ error: 'port 1 is taken', retryInMs: 20 });

  // A crash, then stop() before the restart is due: nothing is started again.
  started[1].crash();
  await until(() => service.state === 'restarting');
  await service.stop();
  await new Promise((r) => setTimeout(r, 100));
  expect(started).toHaveLength(2);
  expect(service.state).toBe('stopped');
});

it('never restarts a service stopped on purpose', async () => {
  const started: Fake[] = [];
  const service = await superviseService(
    async () => {
      const s = fakeService(300 + started.length);
      started.push(s);
      return s;
    },
    { initialBackoffMs: 5 },
  );
  await service.stop();
  await new Promise((r) => setTimeout(r, 50));
  expect(started).toHaveLength(1);
  expect(service.restarts).toBe(0);
});

it('records each service for mesh status, atomically', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'supervisor-'));
  try {
    const s = fakeService(400);
    const service = await superviseService(async () => s, { initialBackoffMs: 10_000 });
    s.crash();
    await until(() => service.state === 'restarting');
    writeServiceStates(dir, [service]);
    expect(readServiceStates(dir)).toEqual({
      worker: expect.objectContaining({ pid: 400, state: 'restarting', restarts: 0, lastExit: expect.objectContaining({ signal: 'SIGKILL' }) }),
    });
    expect(fs.readdirSync(dir)).toEqual(['services.json']);
    await service.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  expect(readServiceStates(dir)).toBeUndefined();
});

it('supervises anything with a name, pid, exited and stop (the emulators): current follows the instance, recorded beside the services', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'supervisor-'));
  try {
    const started: Fake[] = [];
    const emulator = await supervise(
      async () => {
        const s = fakeService(500 + started.length);
        s.name = 'pubsub';
        started.push(s);
        return s;
      },
      { initialBackoffMs: 5 },
    );
    expect(emulator.current).toBe(started[0]);
    started[0].crash();
    await until(() => emulator.restarts === 1 && emulator.state === 'running');
    expect(emulator.current).toBe(started[1]);
    expect(emulator.pid).toBe(501);
    writeEmulatorStates(dir, [emulator]);
    expect(readEmulatorStates(dir)).toEqual({
      pubsub: expect.objectContaining({ pid: 501, state: 'running', restarts: 1, lastExit: expect.objectContaining({ signal: 'SIGKILL' }) }),
    });
    expect(readServiceStates(dir)).toBeUndefined();
    await emulator.stop();
    expect(started[1].stopped).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
