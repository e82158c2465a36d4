/**
 * `mesh faults` (`npm run faults`): the fault suite. Starts a mesh of its own from the spec (free
 * ports, a temporary data folder: a running `npm start` is not touched), then kill -9s every consumer
 * service again and again while valid traffic, fuzzed push bodies and pull messages and forged tokens
 * go in; waits for the sinks to agree; kills both emulators; and prints the accounts: published,
 * lost, applied twice, poison held, crashes. Exit code 0 only when every required figure holds
 * (tools/faults/report.ts). `--short` is the size CI runs; the default is the full run
 * (docs/faults.md).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { loadSpec } from '../../shared/spec';
import { writeIsolatedSpec } from '../../shared/local/isolated-spec';
import { UserError } from '../../shared/errors';
import { runFaults } from '../faults/run';
import { formatFaultReport, type FaultSizes } from '../faults/report';

/** The full run: the figures (20 kills of each service, 10 000 fuzzed inputs). */
export const FULL: FaultSizes = {
  sends: 6000,
  rate: 40,
  killsPerService: 20,
  maxUpMs: 4000,
  pushFuzz: 5000,
  pullFuzz: 5000,
  hugeBytes: 2 * 1024 * 1024,
  emulatorRestarts: true,
};
/** A few minutes: what .ci/run runs. */
export const SHORT: FaultSizes = {
  sends: 600,
  rate: 40,
  killsPerService: 2,
  maxUpMs: 3000,
  pushFuzz: 300,
  pullFuzz: 300,
  hugeBytes: 1024 * 1024,
  emulatorRestarts: true,
};

interface FaultsCommandOptions {
  short?: boolean;
  seed?: string;
  kills?: string;
  fuzz?: string;
  sends?: string;
  emulators: boolean;
  json?: string;
  keep?: boolean;
}

const count = (text: string | undefined, flag: string): number | undefined => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`${flag} must be a whole number, not "${text}"`);
  return n;
};

export function register(program: Command): void {
  program
    .command('faults')
    .description(
      'the fault suite: a mesh of its own under kill -9, emulator restarts, fuzzed input and forged tokens; exit 1 unless nothing is lost or applied twice and all poison is held once',
    )
    .option(
      '--short',
      `the CI size: ${SHORT.killsPerService} kills per service, ${SHORT.pushFuzz + SHORT.pullFuzz} fuzzed inputs (default: the full run, ${FULL.killsPerService} kills per service, ${FULL.pushFuzz + FULL.pullFuzz} fuzzed inputs)`,
    )
    .option('--seed <n>', 'replay a run: the seed it printed')
    .option('--kills <n>', 'kill -9s of each consumer service')
    .option('--fuzz <n>', 'fuzzed inputs, half push bodies, half pull messages')
    .option('--sends <n>', 'valid sends at least (they go on while kills remain)')
    .option('--no-emulators', 'leave the emulators running (no kill -9 of Pub/Sub and Firestore)')
    .option('--json <file>', 'also write the report as JSON to this file')
    .option('--keep', "keep the run's data folder and logs (default: removed when the run passes)")
    .action(async (options: FaultsCommandOptions) => {
      const base = options.short ? SHORT : FULL;
      const fuzz = count(options.fuzz, '--fuzz');
      const sizes: FaultSizes = {
        ...base,
        killsPerService: count(options.kills, '--kills') ?? base.killsPerService,
        sends: count(options.sends, '--sends') ?? base.sends,
        pushFuzz: fuzz === undefined ? base.pushFuzz : Math.ceil(fuzz / 2),
        pullFuzz: fuzz === undefined ? base.pullFuzz : Math.floor(fuzz / 2),
        emulatorRestarts: options.emulators,
      };
      const seed = count(options.seed, '--seed') ?? Math.floor(Math.random() * 2 ** 31);
      const specFile = program.opts().spec as string;
      loadSpec(specFile); // a broken spec is reported before anything starts
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-faults-'));
      const spec = loadSpec(await writeIsolatedSpec(specFile, dir));
      const say = (line: string) => process.stderr.write(`faults: ${line}\n`);
      say(`seed ${seed} (replay with --seed ${seed}); logs in ${path.join(spec.local.dataDir, 'logs')}`);
      const report = await runFaults({ spec, seed, ...sizes, onProgress: say, onMeshProgress: (line) => say(`mesh: ${line}`) });
      console.log(formatFaultReport(report));
      if (options.json) fs.writeFileSync(options.json, JSON.stringify(report, null, 2));
      if (report.ok && !options.keep) fs.rmSync(dir, { recursive: true, force: true });
      else say(`data and logs kept in ${dir}`);
      process.exitCode = report.ok ? 0 : 1;
    });
}
