/**
 * `mesh smoke`: after `npm start` or `pulumi up`, publish a small known mix tagged with a run id and
 * check, within --timeout, that every consumer handled it: the processor's projections, anomaly,
 * like counters and activity; the dashboard's window; the warehouse's dedup views; each consumer's
 * dead-letter hold holding the poison. Exit code 0 only when every check passed.
 *
 * The mix and its expectations: tools/smoke/mix.ts; the checks: tools/smoke/checks.ts; the
 * connections (the only difference between local and --gcp): tools/smoke/target.ts.
 */
import type { Command } from 'commander';
import { loadSpec, parseDuration } from '../../shared/spec';
import { printTable } from '../table';
import { gcpTarget, localTarget } from '../smoke/target';
import { exitCodeOf, runSmoke, shorten, type SmokeReport } from '../smoke/run';
import { UserError } from '../../shared/errors';

interface SmokeCommandOptions {
  gcp?: boolean;
  project?: string;
  stack: string;
  timeout: string;
  interval?: string;
  json?: boolean;
  keepDeadLetters?: boolean;
}

export function register(program: Command): void {
  program
    .command('smoke')
    .description('publish a small known mix (tagged with a run id) and check every consumer handled it: processor, dashboard, warehouse, dead-letter holds')
    .option('--gcp', 'check a deployed stack (application default credentials) instead of the local mesh')
    .option('--project <id>', 'GCP project with --gcp (default: GOOGLE_CLOUD_PROJECT, else gcp:project of Pulumi.<stack>.yaml)')
    .option('--stack <name>', 'stack whose Pulumi.<name>.yaml names the project with --gcp', 'dev')
    .option('--timeout <d>', 'how long every check may take to pass, e.g. 120s, 5m', '120s')
    .option('--interval <d>', 'pause between rounds of checks (default 2s locally, 10s with --gcp)')
    .option('--json', 'print the report as JSON (progress still goes to stderr)')
    .option('--keep-dead-letters', "leave the run's poison in the dead-letter holds (default: taken out once found)")
    .action(async (options: SmokeCommandOptions) => {
      const spec = loadSpec(program.opts().spec);
      const timeoutMs = durationMs(options.timeout, '--timeout');
      const pollMs = options.interval === undefined ? undefined : durationMs(options.interval, '--interval');
      const target = options.gcp ? await gcpTarget(spec, { project: options.project, stack: options.stack }) : await localTarget(spec);
      let report: SmokeReport;
      try {
        report = await runSmoke({
          spec,
          target,
          timeoutMs,
          pollMs,
          keepDeadLetters: options.keepDeadLetters,
          onProgress: (line) => process.stderr.write(`smoke: ${line}\n`),
        });
      } finally {
        await target.close();
      }
      if (options.json) console.log(JSON.stringify(report, null, 2));
      else printReport(report);
      process.exitCode = exitCodeOf(report);
    });
}

function durationMs(value: string, option: string): number {
  // A bare number is seconds.
  const seconds = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : parseDuration(value);
  if (!(seconds > 0)) throw new UserError(`${option} must be a positive duration such as 90s or 2m (got "${value}")`);
  return seconds * 1000;
}

/** The pass/fail table, then one line: passed, or which checks failed after how long. */
export function printReport(report: SmokeReport): void {
  printTable(
    ['check', 'result', 'expected', 'seen'],
    report.checks.map((c) => [
      `${c.service}: ${c.title}`,
      c.ok ? `pass${c.passedAfterSeconds ? ` (${c.passedAfterSeconds}s)` : ''}` : 'FAIL',
      shorten(c.expected, 72),
      shorten(c.seen, 90),
    ]),
  );
  const where = report.target.kind === 'gcp' ? `project ${report.target.project}` : 'the local mesh';
  if (report.ok) {
    console.log(`smoke ${report.runId} passed on ${where}: ${report.checks.length} checks in ${report.elapsedSeconds}s`);
    return;
  }
  const failed = report.checks.filter((c) => !c.ok);
  console.log(
    `smoke ${report.runId} FAILED on ${where} after ${report.elapsedSeconds}s (timeout ${report.timeoutSeconds}s): ${failed.length} of ${report.checks.length} checks`,
  );
  for (const c of failed) console.log(`  ${c.service}: ${c.title}: expected ${c.expected}; seen ${c.seen}`);
}
