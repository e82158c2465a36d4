/**
 * The real emulators when their port is taken (shared/emulators/process.ts): the Pub/Sub emulator
 * logs a BindException and hangs, the Firestore emulator exits. Either way the start fails at once
 * with PortInUseError, and an HTTP server answering on the port never passes for the emulator
 * (before, the Pub/Sub start waited 60 s, and a foreign server answering 200 counted as ready).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PortInUseError, startFirestoreEmulator, startPubsubEmulator } from '../../shared/emulators';

let squatter: http.Server;
let port: number;

beforeAll(async () => {
  // Answers 200 to everything, as another emulator on the port would.
  squatter = http.createServer((_req, res) => res.end('Ok'));
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  port = (squatter.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => squatter.close(() => resolve())));

it.each([
  ['pubsub', startPubsubEmulator],
  ['firestore', startFirestoreEmulator],
] as const)('%s: a taken port fails with PortInUseError, not with the squatter taken for the emulator', async (_name, start) => {
  await expect(start({ port })).rejects.toBeInstanceOf(PortInUseError);
});

it('a chosen port starts an emulator that answers as itself', async () => {
  const emulator = await startPubsubEmulator();
  try {
    const [, emulatorPort] = emulator.hostPort.split(':');
    expect(Number(emulatorPort)).not.toBe(port);
    const response = await fetch(`http://${emulator.hostPort}/`);
    expect(response.ok).toBe(true);
  } finally {
    await emulator.stop();
  }
});
