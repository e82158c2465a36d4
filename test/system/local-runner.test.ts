/**
 * `npm start`'s bad-input contract: a taken port or a spec naming a service with no code fails
 * before anything starts, with a one-line cause and the fix, and leaves nothing running.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../../shared/emulators';
import { startLocalMesh } from '../../shared/local';
import { loadSpec, type MeshSpec } from '../../shared/spec';
import { writeRepoSpecWithFreePorts } from '../support/specs';
import { UserError } from '../../shared/errors';

let dir: string;

const specWithFreePorts = async (edit?: (doc: Record<string, any>) => void): Promise<MeshSpec> => loadSpec(await writeRepoSpecWithFreePorts(dir, edit));

const allPorts = (spec: MeshSpec) => [
  spec.local.pubsubPort,
  spec.local.firestorePort,
  spec.local.bigqueryPort,
  ...Object.values(spec.services).map((s) => s.localPort),
];

/**
 * Whether something listens on the port. Not "is the port free": on a busy machine a free port is
 * soon some other process's outgoing connection (CI found one), which says nothing of what we started.
 */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-runner-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('refuses a taken port in one line, naming the port, its owner and the fix, and starts nothing', async () => {
  const spec = await specWithFreePorts();
  const squatter = net.createServer();
  const taken = spec.services.processor.localPort;
  await new Promise<void>((resolve) => squatter.listen(taken, '127.0.0.1', resolve));
  try {
    const error = await startLocalMesh(spec).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({ name: 'PortTakenError' });
    expect(error!.message).toContain(`port ${taken} (services.processor.localPort) is already in use`);
    expect(error!.message).toMatch(/change it in mesh\.yaml/);
    expect(error!.message.split('\n')).toHaveLength(1);
    for (const port of allPorts(spec).filter((p) => p !== taken)) expect(await listening(port)).toBe(false);
    expect(fs.existsSync(spec.local.dataDir)).toBe(false);
  } finally {
    await new Promise((resolve) => squatter.close(resolve));
  }
});

it('refuses a spec service that has no code before starting anything', async () => {
  // A free port, not the processor's + 1, which another test may be using.
  const billingPort = await freePort();
  const spec = await specWithFreePorts((doc) => {
    doc.services.billing = { localPort: billingPort };
    doc.consumers['billing-orders'] = { topic: 'orders', delivery: 'pull', service: 'billing' };
  });
  await expect(startLocalMesh(spec)).rejects.toBeInstanceOf(UserError);
  await expect(startLocalMesh(spec)).rejects.toMatchObject({
    message: expect.stringMatching(/names service "billing" but .*services\/billing\/index\.ts does not exist/),
  });
  for (const port of allPorts(spec)) expect(await listening(port)).toBe(false);
});
