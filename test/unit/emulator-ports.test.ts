/**
 * Port choice for emulators and local services (shared/emulators/ports.ts): ports come from below
 * the kernel's ephemeral range, never twice from one process, and a start whose port was taken
 * before it bound tries another one.
 */
import * as net from 'node:net';
import { FREE_PORT_RANGE, freePort, isPortFree, onFreePort } from '../../shared/emulators/ports';
import { PortInUseError } from '../../shared/emulators/process';

describe('freePort', () => {
  it('hands out distinct free ports below the ephemeral range', async () => {
    const ports = await Promise.all(Array.from({ length: 200 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(FREE_PORT_RANGE.low);
      expect(port).toBeLessThan(32768);
    }
  });

  it('sees a port someone holds as taken', async () => {
    const server = net.createServer();
    const held = await freePort();
    await new Promise<void>((resolve) => server.listen(held, '127.0.0.1', resolve));
    try {
      expect(await isPortFree(held)).toBe(false);
    } finally {
      server.close();
    }
  });
});

describe('onFreePort', () => {
  it('tries another port when the chosen one was taken before the bind', async () => {
    const tried: number[] = [];
    const result = await onFreePort(undefined, async (port) => {
      tried.push(port);
      if (tried.length < 3) throw new PortInUseError(`taken: ${port}`);
      return `started on ${port}`;
    });
    expect(tried).toHaveLength(3);
    expect(new Set(tried).size).toBe(3);
    expect(result).toBe(`started on ${tried[2]}`);
  });

  it('gives up after its attempts, and never retries other failures or a port the caller chose', async () => {
    let calls = 0;
    await expect(
      onFreePort(
        undefined,
        async () => {
          calls++;
          throw new PortInUseError('taken');
        },
        4,
      ),
    ).rejects.toBeInstanceOf(PortInUseError);
    expect(calls).toBe(4);

    calls = 0;
    await expect(
      onFreePort(undefined, async () => {
        calls++;
        throw new Error('java not found');
      }),
    ).rejects.toThrow('java not found');
    expect(calls).toBe(1);

    calls = 0;
    const given: number[] = [];
    await expect(
      onFreePort(8085, async (port) => {
        given.push(port);
        throw new PortInUseError('taken');
      }),
    ).rejects.toBeInstanceOf(PortInUseError);
    expect(given).toEqual([8085]);
  });
});
