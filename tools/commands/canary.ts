/**
 * `mesh canary start|status|promote|abort <consumer>`: run a new build of a consumer's service for a
 * stable share of its traffic (shared/canary), see both sides side by side, and end it. The spec's
 * threshold (consumer `canary.errorMargin`, `canary.minEvents`) aborts it by itself. Start, promote and
 * abort are audited in operations_audit, as is an automatic abort.
 *
 * Locally, against `npm start`: the canary is a second process of the service, from `--build` (an
 * entry file; default the service's own). With --gcp: the canary the stack deploys (infra/canaries.ts,
 * `event-mesh:canaries`), whose subscription must have the share's filter; ending it gives the
 * canary's messages back and leaves the deployment to the stack config.
 */
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { auditedCanaryEnd, auditedCanaryStart } from '../../shared/canary/audited';
import { readCanary, readSideReports, type CanaryControl } from '../../shared/canary/control';
import { judge, type SideSummary } from '../../shared/canary/judge';
import { parseShare } from '../../shared/canary/routing';
import { UserError } from '../../shared/errors';
import { defaultCanaryBuild, startCanaryInstance, stopCanaryInstance } from '../../shared/local/canary-instance';
import { assertAccountable, OperationsAudit } from '../../shared/operations';
import { loadSpec, type ConsumerSpec, type MeshSpec } from '../../shared/spec';
import { printTable } from '../table';
import { operatorName, targetOptions, withTarget, type TargetOptions } from './target-options';

interface CanaryOptions extends TargetOptions {
  share?: string;
  build?: string;
  owner?: string;
  intent?: string;
  json?: boolean;
}

const mesh = (args: string) => `npm run mesh -- ${args}`;

function consumerOf(spec: MeshSpec, name: string): ConsumerSpec {
  const consumer = spec.consumers[name];
  if (!consumer) throw new UserError(`no consumer "${name}" in the spec; consumers: ${Object.keys(spec.consumers).join(', ')}`);
  return consumer;
}

const ms = (value: number | undefined) => (value === undefined ? '-' : value === Infinity ? '>60 s' : `≤${value} ms`);
const rate = (part: number, whole: number) => (whole ? `${((part / whole) * 100).toFixed(1)} %` : '-');

function sideRow(s: SideSummary): (string | number)[] {
  const c = s.counts;
  return [s.side, s.instances, c.handled, rate(c.failed + c.deadLettered, c.handled), rate(c.deadLettered, c.handled), ms(s.p50Ms), ms(s.p99Ms)];
}

async function status(spec: MeshSpec, name: string, options: CanaryOptions): Promise<void> {
  const consumer = consumerOf(spec, name);
  await withTarget(spec, options, async (target) => {
    const control = await readCanary(target.firestore, consumer.name);
    if (!control) return void console.log(options.json ? JSON.stringify({ consumer: name, canary: null }) : `${name} never had a canary.`);
    const verdict = judge(await readSideReports(target.firestore, consumer.name, control.canaryId), control.policy);
    if (options.json) return void console.log(JSON.stringify({ consumer: name, canary: control, verdict }, null, 2));
    console.log(describe(control));
    printTable(['side', 'instances', 'handled', 'error rate', 'dead-letter rate', 'p50', 'p99'], [sideRow(verdict.canary), sideRow(verdict.stable)]);
    if (control.state === 'running') console.log(`verdict: ${verdict.decision} (${verdict.reason})`);
  });
}

function describe(c: CanaryControl): string {
  const head = `${c.consumer}: canary ${c.canaryId} ${c.state}, ${c.share}% of the buckets from ${c.since}, build ${c.build}, by ${c.owner} (${c.intent})`;
  const end = c.ended ? `\nended ${c.ended.at} by ${c.ended.by}: ${c.ended.reason}` : '';
  const cleanup = c.cleanup
    ? c.cleanup.error !== undefined
      ? `\ngiving its messages back FAILED: ${c.cleanup.error} (finish with ${mesh(`canary abort ${c.consumer} --owner NAME --intent "finish"`)})`
      : `\n${c.cleanup.backlogMoved} message(s) moved back to the stable side, ${c.cleanup.deadLettersRedriven} dead letter(s) redriven`
    : c.state !== 'running'
      ? `\nits messages are not given back yet (in progress, or for an operator in GCP): ${mesh(`canary abort ${c.consumer} --owner NAME --intent "give back"`)}`
      : '';
  return head + end + cleanup;
}

async function start(spec: MeshSpec, name: string, options: CanaryOptions): Promise<void> {
  const consumer = consumerOf(spec, name);
  assertAccountable(options, 'canary start');
  const share = parseShare(options.share ?? '');
  if (consumer.delivery === 'bigquery') throw new UserError(`${name} is a BigQuery subscription: there is no build of it to try as a canary`);
  if (!options.gcp && consumer.delivery !== 'pull')
    throw new UserError(`${name} is a push consumer: a local canary takes pull consumers (the push relay does not feed a canary yet)`);
  if (options.gcp && options.build)
    throw new UserError('--build is for a local canary; in GCP the stack deploys the image (event-mesh:canaries)', { where: '--build' });
  const build = options.gcp ? `the ${name}-canary service of the stack (event-mesh:canaries.${name}.image)` : (options.build ?? defaultCanaryBuild(consumer));
  await withTarget(spec, options, async (target) => {
    const audit = new OperationsAudit(target.bigquery, spec, target.project);
    const request = { consumer, share, build, owner: options.owner, intent: options.intent, operator: operatorName(target), deployed: target.kind === 'gcp' };
    const launch = target.kind === 'gcp' ? undefined : (c: CanaryControl) => startCanaryInstance(spec, consumer, c.build);
    const control = await auditedCanaryStart({ pubsub: target.pubsub, firestore: target.firestore, audit }, request, launch);
    if (options.json) return void console.log(JSON.stringify(control, null, 2));
    const where = control.local ? ` (process ${control.local.pid} on port ${control.local.port}, log ${control.local.logFile})` : ` (${build})`;
    console.log(
      `${name}: canary ${control.canaryId} takes ${share}% of the buckets from ${control.since}${where}.\n` +
        `It aborts by itself past a ${(control.policy.errorMargin * 100).toFixed(1)}-point error margin after ${control.policy.minEvents} deliveries. ` +
        `Watch: ${mesh(`canary status ${name}`)}`,
    );
  });
}

async function end(spec: MeshSpec, name: string, state: 'aborted' | 'promoted', options: CanaryOptions): Promise<void> {
  const consumer = consumerOf(spec, name);
  assertAccountable(options, `canary ${state === 'aborted' ? 'abort' : 'promote'}`);
  await withTarget(spec, options, async (target) => {
    const audit = new OperationsAudit(target.bigquery, spec, target.project);
    const before = await readCanary(target.firestore, consumer.name);
    const bar = new SingleBar({ format: 'moving the canary backlog to the stable side: {value} message(s)', noTTYOutput: !options.json, notTTYSchedule: 5000 });
    if (!options.json) bar.start(0, 0);
    let result;
    try {
      result = await auditedCanaryEnd(
        { pubsub: target.pubsub, firestore: target.firestore, audit },
        { consumer, state, owner: options.owner, intent: options.intent, operator: operatorName(target) },
        // In GCP the subscription is the deployment's: the stack config removes it with the canary service.
        { onMoved: (n) => (bar.setTotal(n), bar.update(n)), deleteSubscription: target.kind !== 'gcp' },
      );
    } finally {
      bar.stop();
      // The instance stops itself when the canary ends; this is the backstop.
      if (before?.local?.pid) stopCanaryInstance(before.local.pid);
    }
    if (options.json) return void console.log(JSON.stringify(result, null, 2));
    console.log(
      `${name}: canary ${result.control.canaryId} ${state} (operation ${result.operationId}); every bucket is the stable side's again. ` +
        `${result.cleanup.backlogMoved} message(s) moved back, ${result.cleanup.deadLettersRedriven} dead letter(s) redriven.` +
        (state === 'promoted' ? ` Deploy ${result.control.build} as ${consumer.service}'s build to finish the rollout.` : '') +
        (target.kind === 'gcp' ? ` Remove the canary deployment: pulumi config rm --path 'event-mesh:canaries.${name}' && pulumi up` : ''),
    );
  });
}

export function register(program: Command): void {
  const canary = program.command('canary').description('try a new build of a consumer on a stable share of its traffic (audited)');
  const accountable = (c: Command) => c.option('--owner <name>', 'who answers for it (required)').option('--intent <why>', 'why (required)');
  targetOptions(
    accountable(
      canary
        .command('start')
        .description('run a canary of one consumer for --share of its traffic (by ordering key, else event id)')
        .argument('<consumer>', 'consumer name from the spec')
        .option('--share <percent>', 'the canary share, e.g. 5%')
        .option('--build <entry>', "the canary's entry file (default: the service's own)")
        .option('--json', 'print JSON'),
    ),
  ).action((name: string, options: CanaryOptions) => start(loadSpec(program.opts().spec), name, options));
  targetOptions(
    canary.command('status').description('the canary and the stable side side by side, and the verdict').argument('<consumer>').option('--json', 'print JSON'),
  ).action((name: string, options: CanaryOptions) => status(loadSpec(program.opts().spec), name, options));
  for (const [command, state] of [
    ['promote', 'promoted'],
    ['abort', 'aborted'],
  ] as const)
    targetOptions(
      accountable(
        canary
          .command(command)
          .description(
            command === 'abort'
              ? 'stop the canary; what it did not finish goes back to the stable side'
              : 'end the canary as good; what it did not finish goes back to the stable side',
          )
          .argument('<consumer>')
          .option('--json', 'print JSON'),
      ),
    ).action((name: string, options: CanaryOptions) => end(loadSpec(program.opts().spec), name, state, options));
}
