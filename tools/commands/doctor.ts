import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { EmulatorMissingError, assertJava, findEmulator, isPortFree } from '../../shared/emulators';
import { loadSpec } from '../../shared/spec';
import { printTable } from '../table';

/** `mesh doctor`: checks this machine has what the local mesh and the tests need (CI runs it first). */
export function register(program: Command): void {
  program
    .command('doctor')
    .description("check Node, Java and Google's emulators are installed, and the spec's local ports are free")
    .option('--no-ports', 'skip the port check (tests use free ports of their own)')
    .action(async (options: { ports: boolean }) => {
      const rows: string[][] = [];
      let ok = true;
      const check = (what: string, fn: () => string) => {
        try {
          rows.push([what, 'ok', fn()]);
        } catch (error) {
          ok = false;
          rows.push([what, 'MISSING', (error as Error).message]);
        }
      };
      check('node >= 20', () => {
        if (Number(process.versions.node.split('.')[0]) < 20) throw new Error(`node ${process.versions.node}; install Node 20 or newer`);
        return process.versions.node;
      });
      check('java >= 17', () => {
        assertJava();
        return spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0] || 'present';
      });
      for (const emulator of ['pubsub', 'firestore'] as const) {
        check(`${emulator} emulator`, () => findEmulator(emulator));
      }
      const spec = loadSpec(program.opts().spec);
      if (options.ports) {
        const ports: [string, number][] = [
          ['local.pubsubPort', spec.local.pubsubPort],
          ['local.firestorePort', spec.local.firestorePort],
          ['local.bigqueryPort', spec.local.bigqueryPort],
          ...Object.values(spec.services).map((s): [string, number] => [`services.${s.name}`, s.localPort]),
        ];
        for (const [owner, port] of ports) {
          const free = await isPortFree(port);
          if (!free) ok = false;
          rows.push([`port ${port}`, free ? 'ok' : 'TAKEN', owner]);
        }
      }
      printTable(['check', 'status', 'detail'], rows);
      if (!ok) throw Object.assign(new EmulatorMissingError('pubsub', 'see the table above'), { message: 'some checks failed: see the table above' });
    });
}
