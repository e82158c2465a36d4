/**
 * `mesh replay request|resume|list|show`: governed replay (shared/replay, docs/operations.md).
 * Locally against `npm start` (the emulators and the local BigQuery endpoint); with --gcp against a
 * deployed stack with the operator's credentials.
 */
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import type { ConsumerHealth } from '../../shared/health/types';
import { localServiceUrls } from '../../shared/local/services';
import {
  appliedCounter,
  clearScope,
  FINAL_STATES,
  parseReplayRequest,
  replayCeiling,
  planLines,
  planReplay,
  recordOf,
  ReplayAudit,
  requestOf,
  runReplay,
  WarehouseReplaySource,
  describeScope,
  type ConsumerLag,
  type ReplayOutcome,
  type ReplayRecord,
  type ReplayInput,
  type ReplayRequest,
} from '../../shared/replay';
import { loadSpec, type MeshSpec } from '../../shared/spec';
import { UserError } from '../../shared/errors';
import type { SmokeTarget } from '../smoke/target';
import { operatorName, targetOptions, withTarget, type TargetOptions } from './target-options';
import { DASHBOARD_HEALTH_PATH } from './status';
import { printTable } from '../table';

/** The request's options as commander gives them: ReplayInput's, less the operator (found here). */
interface RequestOptions extends TargetOptions, Omit<ReplayInput, 'operator'> {
  dryRun?: boolean;
  json?: boolean;
}

/** The consumer's real-time lag, from the local dashboard's health; unknown in GCP from here. */
async function localLag(spec: MeshSpec, consumer: string): Promise<ConsumerLag | undefined> {
  const url = `${localServiceUrls(spec).dashboard}${DASHBOARD_HEALTH_PATH}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) return undefined;
  const body = (await res.json()) as ConsumerHealth[] | { consumers: ConsumerHealth[] };
  const health = (Array.isArray(body) ? body : body.consumers).find((h) => h.consumer === consumer);
  return health ? { oldestUnackedSeconds: health.oldestUnackedSeconds, backlog: health.backlog } : undefined;
}

/** Sends with a progress bar; Ctrl-C cancels cleanly (recorded, resumable). */
async function send(spec: MeshSpec, target: SmokeTarget, request: ReplayRequest, inScope: number, resume?: ReplayRecord): Promise<ReplayOutcome> {
  const controller = new AbortController();
  const cancel = () => controller.abort(new Error('cancelled'));
  process.once('SIGINT', cancel);
  const bar = new SingleBar({
    format: 'replay [{bar}] {percentage}% | sent {value}/{total} | {rate}/s | eta {eta_formatted}',
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 5000,
  });
  const started = Date.now();
  const before = resume?.sent ?? 0;
  bar.start(Math.max(inScope, before), before, { rate: 0 });
  try {
    return await runReplay({
      pubsub: target.pubsub,
      spec,
      source: new WarehouseReplaySource(target.bigquery, spec, target.project),
      audit: new ReplayAudit(target.bigquery, spec, target.project, { firestore: target.firestore }),
      request,
      inScope,
      ...(resume ? { resume: { checkpoint: resume.checkpoint, sent: resume.sent, elapsedSeconds: resume.elapsedSeconds } } : {}),
      signal: controller.signal,
      onSent: (sent) => bar.update(sent, { rate: Math.round((sent - before) / Math.max(0.001, (Date.now() - started) / 1000)) }),
    });
  } finally {
    bar.stop();
    process.removeListener('SIGINT', cancel);
  }
}

function report(outcome: ReplayOutcome, request: ReplayRequest): void {
  const rate = outcome.elapsedSeconds > 0 ? (outcome.sent / outcome.elapsedSeconds).toFixed(1) : '-';
  if (outcome.state === 'completed')
    console.log(`replay ${request.id} completed: ${outcome.sent} sent to ${request.consumer} in ${outcome.elapsedSeconds.toFixed(1)} s (${rate}/s)`);
  else if (outcome.state === 'cancelled')
    console.log(`replay ${request.id} cancelled after ${outcome.sent} sent; go on with: npm run mesh -- replay resume ${request.id}`);
  else
    throw new UserError(`replay ${request.id} failed after ${outcome.sent} sent: ${outcome.error?.message}`, {
      hint: `go on with: npm run mesh -- replay resume ${request.id}`,
    });
}

export function register(program: Command): void {
  const replay = program.command('replay').description('send a bounded scope of past events again to one consumer, at a ceiling, audited (docs/operations.md)');

  targetOptions(
    replay
      .command('request')
      .description('plan and run a replay; --dry-run prints the plan only')
      .requiredOption('--consumer <name>', 'the one consumer that receives the replay')
      .option('--from <time>', 'publish time, inclusive (RFC 3339)')
      .option('--to <time>', 'publish time, exclusive (RFC 3339)')
      .option('--keys <k1,k2>', 'only these ordering keys')
      .option('--key-range <first..last>', 'only ordering keys from first up to (not including) last')
      .option('--types <t1,t2>', 'only these event types')
      .option('--owner <name>', 'who answers for it (required)')
      .option('--intent <why>', 'why it is run (required)')
      .option('--ceiling <rate>', "at most this rate, e.g. 50/s (default and maximum: the consumer's replay.ceiling)")
      .option('--rebuild', "first clear the keys' projections and the consumer's dedup records of their events (processor orders; needs --keys or --key-range)")
      .option('--dry-run', 'print the plan, send nothing')
      .option('--json', 'print the plan (and outcome) as JSON'),
  ).action(async (options: RequestOptions) => {
    const spec = loadSpec(program.opts().spec);
    // Checked before connecting: a bad request fails the same with nothing running.
    const checked = parseReplayRequest(spec, { ...options, operator: '' });
    await withTarget(spec, options, async (target) => {
      const request: ReplayRequest = { ...checked, operator: operatorName(target) };
      const source = new WarehouseReplaySource(target.bigquery, spec, target.project);
      const plan = await planReplay(spec, source, request, {
        applied: appliedCounter(spec, request.consumer, target.firestore),
        ...(target.kind === 'local' ? { lag: () => localLag(spec, request.consumer) } : {}),
      });
      if (options.json && options.dryRun) return void console.log(JSON.stringify(plan, null, 2));
      for (const line of planLines(plan)) console.log(line);
      if (options.dryRun) return void console.log('dry run: nothing sent, nothing recorded');
      if (plan.blockers.length) throw new UserError(plan.blockers.join('; '), { where: '--rebuild' });
      if (!plan.inScope) throw new UserError(`nothing in scope (${describeScope(request.scope)}): nothing to replay`);
      const audit = new ReplayAudit(target.bigquery, spec, target.project, { firestore: target.firestore });
      await audit.record(recordOf(request, 'requested', { inScope: plan.inScope, sent: 0, elapsedSeconds: 0, detail: plan.warnings.join('; ') || undefined }));
      if (request.rebuild) {
        const cleared = await clearScope({ firestore: target.firestore, source, audit, request, inScope: plan.inScope });
        console.log(`rebuild: cleared ${cleared.projections} projections, ${cleared.anomalies} anomalies, ${cleared.dedupRecords} dedup records`);
      }
      const outcome = await send(spec, target, request, plan.inScope);
      if (options.json) console.log(JSON.stringify({ replayId: request.id, ...outcome, error: outcome.error?.message }, null, 2));
      report(outcome, request);
    });
  });

  targetOptions(
    replay
      .command('resume')
      .description('go on with a cancelled or failed replay from its checkpoint')
      .argument('<id>', 'replay id')
      .option('--ceiling <rate>', 'go on at this rate instead of the recorded one (at most the consumer replay.ceiling)'),
  ).action(async (id: string, options: TargetOptions & { ceiling?: string }) => {
    const spec = loadSpec(program.opts().spec);
    await withTarget(spec, options, async (target) => {
      const history = await new ReplayAudit(target.bigquery, spec, target.project).history(id);
      const last = history[history.length - 1];
      if (!last) throw new UserError(`no replay ${id} in the audit`, { hint: 'list them with: npm run mesh -- replay list' });
      if (last.state === 'completed') throw new UserError(`replay ${id} completed already (${last.sent} sent)`);
      if (!FINAL_STATES.includes(last.state) && Date.now() - Date.parse(last.recordedAt) < 120_000)
        throw new UserError(`replay ${id} is ${last.state} (recorded ${last.recordedAt}): it may still be running`, {
          hint: 'resume it once it has stopped',
        });
      if (!spec.consumers[last.consumer]) throw new UserError(`replay ${id} was for consumer ${last.consumer}, which the spec no longer has`);
      const request = requestOf(last);
      if (options.ceiling !== undefined) request.ceilingPerSecond = replayCeiling(spec.consumers[last.consumer], options.ceiling);
      console.log(`resuming replay ${id} to ${last.consumer} (${describeScope(last.scope)}) after ${last.sent} sent`);
      report(await send(spec, target, request, last.inScope ?? last.sent, last), request);
    });
  });

  targetOptions(replay.command('list').description('recent replays and their state').option('--json', 'print JSON')).action(
    async (options: TargetOptions & { json?: boolean }) => {
      const spec = loadSpec(program.opts().spec);
      await withTarget(spec, options, async (target) => {
        const records = await new ReplayAudit(target.bigquery, spec, target.project).latest();
        if (options.json) return void console.log(JSON.stringify(records, null, 2));
        printTable(
          ['replay', 'state', 'consumer', 'sent', 'in scope', 'owner', 'intent', 'recorded'],
          records.map((r) => [r.replayId, r.state, r.consumer, String(r.sent), String(r.inScope ?? '-'), r.owner, r.intent.slice(0, 50), r.recordedAt]),
        );
      });
    },
  );

  targetOptions(replay.command('show').description('every step of one replay').argument('<id>', 'replay id').option('--json', 'print JSON')).action(
    async (id: string, options: TargetOptions & { json?: boolean }) => {
      const spec = loadSpec(program.opts().spec);
      await withTarget(spec, options, async (target) => {
        const history = await new ReplayAudit(target.bigquery, spec, target.project).history(id);
        if (!history.length) throw new UserError(`no replay ${id} in the audit`, { hint: 'list them with: npm run mesh -- replay list' });
        if (options.json) return void console.log(JSON.stringify(history, null, 2));
        const first = history[0];
        console.log(`replay ${id} to ${first.consumer}, owner ${first.owner}, by ${first.operator ?? '?'}: ${first.intent}`);
        console.log(`scope: ${describeScope(first.scope)}; ceiling ${first.ceilingPerSecond}/s`);
        printTable(
          ['recorded', 'state', 'sent', 'in scope', 'elapsed s', 'detail'],
          history.map((r) => [r.recordedAt, r.state, String(r.sent), String(r.inScope ?? '-'), r.elapsedSeconds.toFixed(1), (r.detail ?? '').slice(0, 120)]),
        );
      });
    },
  );
}
