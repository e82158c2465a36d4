/**
 * MESH_LOCAL_NICE (shared/emulators/process.ts): the local mesh's processes start niced, so an
 * operator's command answers while the mesh is busy. A real child process, its niceness read back
 * from /proc (Linux); the pid and process group stay the command's own (`nice` execs it).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { freePort } from '../../shared/emulators/ports';
import { localNice, startEmulatorProcess } from '../../shared/emulators/process';

/** Field 19 of /proc/<pid>/stat: the niceness. */
const niceOf = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[16]);

describe('localNice', () => {
  it('is 0 unless set, and refuses what nice would not take', () => {
    expect(localNice({})).toBe(0);
    expect(localNice({ MESH_LOCAL_NICE: '10' })).toBe(process.platform === 'win32' ? 0 : 10);
    expect(() => localNice({ MESH_LOCAL_NICE: 'high' })).toThrow(/MESH_LOCAL_NICE "high" must be a whole number from 0 to 19/);
    expect(() => localNice({ MESH_LOCAL_NICE: '20' })).toThrow(/0 to 19/);
  });
});

const onLinux = process.platform === 'linux' ? it : it.skip;

onLinux(
  'starts the process niced, as its own process group leader, and stops it',
  async () => {
    const port = await freePort();
    const server = `require('http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`;
    const before = process.env.MESH_LOCAL_NICE;
    process.env.MESH_LOCAL_NICE = '7';
    try {
      const proc = await startEmulatorProcess({
        name: 'niced',
        command: process.execPath,
        args: ['-e', server],
        readyUrl: `http://127.0.0.1:${port}/`,
        readyTimeoutMs: 20_000,
      });
      try {
        expect(niceOf(proc.pid) - niceOf(process.pid)).toBe(7);
        // The pid is node's own (nice exec'd it), and it leads its group: stopping the group stops it.
        expect(fs.readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').split('\0')[0]).toBe(process.execPath);
        const answer = await new Promise<string>((resolve, reject) =>
          http.get(`http://127.0.0.1:${port}/`, (r) => r.on('data', (d: Buffer) => resolve(d.toString()))).on('error', reject),
        );
        expect(answer).toBe('ok');
      } finally {
        await proc.stop();
      }
      expect(fs.existsSync(`/proc/${proc.pid}/cmdline`) ? fs.readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1][0] : 'gone').toMatch(/gone|Z/);
    } finally {
      if (before === undefined) delete process.env.MESH_LOCAL_NICE;
      else process.env.MESH_LOCAL_NICE = before;
    }
  },
  30_000,
);
