import * as net from 'node:net';
import { UserError } from '../errors';

/** A port the OS says is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
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
