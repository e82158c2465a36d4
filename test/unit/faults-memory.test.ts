/** The fault suite's memory sampling (tools/faults/memory.ts) reads a real process group from /proc. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { groupRssBytes, groupUsage, sampleEmulatorMemory } from '../../tools/faults/memory';

const onLinux = process.platform === 'linux' ? it : it.skip;

onLinux('sums the resident memory of every process in a group, and finds nothing once the group is gone', async () => {
  // A group of two: a shell (the leader, as an emulator's wrapper script) and a node child holding ~64 MB.
  const group = spawn('sh', ['-c', `${process.execPath} -e "globalThis.b = Buffer.alloc(64 * 2 ** 20, 1); setTimeout(() => {}, 60000)" & wait`], {
    detached: true,
    stdio: 'ignore',
  });
  const pid = group.pid!;
  try {
    let bytes = 0;
    for (let i = 0; i < 50 && bytes < 64 * 2 ** 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      bytes = groupRssBytes(pid) ?? 0;
    }
    expect(bytes).toBeGreaterThan(64 * 2 ** 20); // the child counts, not only the leader
    expect(groupUsage(pid)!.threads).toBeGreaterThan(2); // sh's one and node's several
    const sampler = sampleEmulatorMemory({ pubsub: { pid } }, 50);
    expect(sampler.line()).toMatch(/^pubsub 0\.\d GB \(\d+ threads\)$/);
    expect(sampler.peak.pubsub).toBeGreaterThan(64 * 2 ** 20);
    sampler.stop();
  } finally {
    process.kill(-pid, 'SIGKILL');
    await once(group, 'exit');
  }
  await new Promise((r) => setTimeout(r, 200));
  expect(groupRssBytes(pid)).toBeUndefined();
});
