import * as fs from 'node:fs';
import * as net from 'node:net';
import { randomInt } from 'node:crypto';
import { UserError } from '../errors';
import { PortInUseError } from './process';

/**
 * Where freePort() looks: below the kernel's ephemeral range (Linux 32768-60999, macOS 49152-65535).
 * A port from listen(0) comes from that range, which every outgoing connection and every JVM's own
 * listen(0) (the Firestore emulator opens a WebSocket port that way) also draws from, so one of them
 * could take it between freePort() and the emulator's bind: the race the bench hit. Below it, only
 * another caller picking the same random port can, and startPubsubEmulator/startFirestoreEmulator
 * retry on another port when that happens (PortInUseError).
 */
export const FREE_PORT_RANGE = { low: 20000, high: 32767 } as const;

/** Ports this process has handed out, never handed out twice (two concurrent callers, one port). */
const handedOut = new Set<number>();

function ephemeralLow(): number {
  try {
    const [low] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return Number.isInteger(low) && low > 1024 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** A port that is free now, outside the ephemeral range, and not handed out before by this process. */
export async function freePort(): Promise<number> {
  const high = Math.min(FREE_PORT_RANGE.high, ephemeralLow() - 1);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = randomInt(FREE_PORT_RANGE.low, high + 1);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await isPortFree(port)) return port;
  }
  throw new Error(`no free port found in ${FREE_PORT_RANGE.low}-${high} after 100 tries`);
}

/**
 * Runs `start` on a port: the given one (its PortInUseError is the caller's to explain), or up to
 * `attempts` free ones, trying another when the chosen port was taken before the process bound it.
 */
export async function onFreePort<T>(given: number | undefined, start: (port: number) => Promise<T>, attempts = 5): Promise<T> {
  if (given !== undefined) return start(given);
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (error) {
      if (!(error instanceof PortInUseError) || attempt >= attempts) throw error;
    }
  }
}

export class PortTakenError extends UserError {
  override readonly name = 'PortTakenError';
  constructor(
    readonly port: number,
    owner: string,
  ) {
    super(`port ${port} (${owner}) is already in use. Stop whatever listens there (\`lsof -i :${port}\`) or change it in mesh.yaml.`);
  }
}

export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export async function assertPortFree(port: number, owner: string): Promise<void> {
  if (!(await isPortFree(port))) throw new PortTakenError(port, owner);
}
