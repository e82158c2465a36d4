/**
 * `mesh parity`: do the sinks tell the same story? For each topic and closed window since --since,
 * the dashboard's counters and the processor's effects against the warehouse (the reference: it
 * keeps every event), and the dead-letter holds against each other. Exit code 1 on any mismatch.
 * Locally against `npm start`; with --gcp against a deployed stack. docs/parity.md explains the
 * checks, how to read a mismatch, and the runbook.
 */
import { MetricServiceClient } from '@google-cloud/monitoring';
import type { Command } from 'commander';
import { loadSpec, parseDuration } from '../../shared/spec';
import { UserError } from '../../shared/errors';
import type { Granularity } from '../../services/dashboard/windows';
import { gcpTarget, localTarget } from '../smoke/target';
import { printParityReport } from '../parity/format';
import { readLag } from '../parity/lag';
import { recordParity } from '../parity/record';
import { parityExitCode, runParity } from '../parity/run';

interface ParityCommandOptions {
  since: string;
  window: string;
  topic?: string[];
  settle: string;
  json?: boolean;
  all?: boolean;
  record?: boolean;
  gcp?: boolean;
  project?: string;
  stack: string;
}

const WINDOWS: Record<string, Granularity> = { '1h': 'hour', hour: 'hour', '60m': 'hour', '1m': 'minute', minute: 'minute', '60s': 'minute' };

export function register(program: Command): void {
  program
    .command('parity')
    .description(
      'compare the sinks: dashboard and processor against the warehouse per topic and closed window, and the dead-letter holds; exit 1 on a mismatch',
    )
    .option('--since <d>', 'compare windows from this long ago, e.g. 24h, 90m', '24h')
    .option('--window <size>', 'window size: 1h or 1m (the dashboard keeps both)', '1h')
    .option('--topic <name...>', 'only these topics (default: every topic the warehouse consumes)')
    .option('--settle <d>', 'judge a window only this long after it ended', '1m')
    .option('--json', 'print the report as JSON')
    .option('--all', 'print every check, not only those that are not ok')
    .option('--record', "record the result: the dashboard's parity panel, the parity_results table and, with --gcp, the parity metric")
    .option('--gcp', 'check a deployed stack (application default credentials) instead of the local mesh')
    .option('--project <id>', 'GCP project with --gcp (default: GOOGLE_CLOUD_PROJECT, else gcp:project of Pulumi.<stack>.yaml)')
    .option('--stack <name>', 'stack whose Pulumi.<name>.yaml names the project with --gcp', 'dev')
    .action(async (options: ParityCommandOptions) => {
      const spec = loadSpec(program.opts().spec);
      const granularity = WINDOWS[options.window];
      if (!granularity) throw new UserError(`must be 1h or 1m (the dashboard's window sizes), got "${options.window}"`, { where: '--window' });
      const since = seconds(options.since, '--since');
      const settle = options.settle === '0' ? 0 : seconds(options.settle, '--settle');
      const target = options.gcp ? await gcpTarget(spec, { project: options.project, stack: options.stack }) : await localTarget(spec);
      try {
        const { lag, unknownBecause } = await readLag(spec, target);
        const report = await runParity({
          spec,
          target,
          granularity,
          sinceMs: Date.now() - since * 1000,
          topics: options.topic,
          lag,
          lagUnknownBecause: unknownBecause,
          settleMs: settle * 1000,
          onProgress: (line) => process.stderr.write(`parity: ${line}\n`),
        });
        if (options.record) {
          // Locally the run creates parity_results if missing; in GCP infra owns the table and the metric.
          const metrics = target.kind === 'gcp' ? new MetricServiceClient({ projectId: target.project }) : undefined;
          try {
            await recordParity(target, report, { dataset: spec.warehouse.dataset, createTable: target.kind === 'local', metrics });
          } finally {
            await metrics?.close();
          }
        }
        if (options.json) console.log(JSON.stringify(report, null, 2));
        else printParityReport(report, { all: options.all });
        process.exitCode = parityExitCode(report);
      } finally {
        await target.close();
      }
    });
}

function seconds(value: string, option: string): number {
  const s = parseDuration(value);
  if (!(s > 0)) throw new UserError(`must be a positive duration such as 24h or 90m (got "${value}")`, { where: option });
  return s;
}
