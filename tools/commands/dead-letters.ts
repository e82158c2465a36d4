/**
 * `mesh dead-letters [consumer]`: dead-letter triage.
 *   without a consumer: every hold, grouped by consumer, owner and reason, oldest against the triage SLA;
 *   with one: each held message and why, then its groups;
 *   --redrive: send the selected messages back to that consumer only, at --rate per second;
 *   --purge:   drop them from the hold (their copies stay in BigQuery's dead_letters).
 * Both are audited in operations_audit (shared/operations) and show a progress bar. Selection:
 * --reason, --events, --since / --until (dead-lettered at). Locally against `npm start`; with --gcp
 * against a deployed stack.
 */
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { PubSub } from '@google-cloud/pubsub';
import { listHeld, type HeldMessage } from '../../shared/consumer/dead-letter-hold';
import { pubsubFromEnv } from '../../shared/consumer/env';
import { selector, type HeldSelection } from '../../shared/consumer/hold-actions';
import { assertEmulatorUp, localPubSub, localPubsubHost } from '../../shared/local/connect';
import {
  assertAccountable,
  auditedPurge,
  auditedRedrive,
  OperationsAudit,
  parseWhen,
  triageGroups,
  type HoldOperationRequest,
  type TriageGroup,
} from '../../shared/operations';
import { approxDuration, loadSpec, type MeshSpec } from '../../shared/spec';
import { printTable } from '../table';
import { UserError } from '../../shared/errors';
import { operatorName, targetOptions, withTarget, type TargetOptions } from './target-options';

interface DeadLetterOptions extends TargetOptions {
  redrive?: boolean;
  purge?: boolean;
  owner?: string;
  intent?: string;
  reason?: string;
  events?: string;
  since?: string;
  until?: string;
  rate: string;
  max: string;
  json?: boolean;
}

const list = (text?: string) =>
  text
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const mesh = (args: string) => `npm run mesh -- ${args}`;

function printGroups(groups: TriageGroup[]): void {
  printTable(
    ['consumer', 'owner', 'reason', 'held', 'oldest', 'triage SLA', 'state'],
    groups.map((g) => [
      g.consumer,
      g.owner ?? '-',
      g.reason,
      String(g.count),
      approxDuration(g.oldestSeconds),
      approxDuration(g.triageSlaSeconds),
      g.pastSla ? 'PAST SLA' : 'within SLA',
    ]),
  );
}

function printMessages(messages: HeldMessage[]): void {
  printTable(
    ['dead-lettered at', 'event id', 'type', 'reason', 'error'],
    messages.map((m) => [m.deadLetteredAt, m.eventId ?? '-', m.type ?? '-', m.reason, (m.error ?? '').slice(0, 80)]),
  );
}

/** Reads the holds with their own client, so a listing needs Pub/Sub only (no BigQuery). */
async function withPubSub<T>(spec: MeshSpec, options: DeadLetterOptions, work: (pubsub: PubSub) => Promise<T>): Promise<T> {
  let pubsub: PubSub;
  if (options.gcp) {
    delete process.env.PUBSUB_EMULATOR_HOST;
    pubsub = pubsubFromEnv(options.project ?? process.env.GOOGLE_CLOUD_PROJECT ?? spec.project);
  } else {
    await assertEmulatorUp(localPubsubHost(spec), 'Pub/Sub');
    pubsub = localPubSub(spec);
  }
  try {
    return await work(pubsub);
  } finally {
    await pubsub.close();
  }
}

/** Every hold, grouped: who has to look at what, the oldest first. */
async function triage(spec: MeshSpec, options: DeadLetterOptions, max: number, select: HeldSelection): Promise<void> {
  const selected = selector(select);
  const held = await withPubSub(spec, options, async (pubsub) => {
    // Every hold at once: each listing ends after 1.5 s without a message, so one after the other
    // would take that long per consumer.
    const names = Object.keys(spec.consumers);
    const lists = await Promise.all(names.map((name) => listHeld(pubsub, spec.consumers[name], { max, idleMs: 1500 })));
    return Object.fromEntries(names.map((name, i) => [name, lists[i].filter(selected)]));
  });
  const groups = triageGroups(spec, held);
  if (options.json) return void console.log(JSON.stringify({ groups }, null, 2));
  if (!groups.length) return void console.log('no dead letters held');
  printGroups(groups);
  const past = groups.filter((g) => g.pastSla);
  console.log(
    `${groups.reduce((n, g) => n + g.count, 0)} held in ${new Set(groups.map((g) => g.consumer)).size} consumer(s)` +
      (past.length ? `; ${past.length} group(s) PAST their triage SLA (owners are paged in GCP)` : '') +
      `. One consumer's messages: ${mesh('dead-letters <consumer>')}`,
  );
}

/** Runs a redrive or purge with a progress bar over what the selection holds now. */
async function act(spec: MeshSpec, name: string, options: DeadLetterOptions, max: number, select: HeldSelection): Promise<void> {
  const action = options.redrive ? 'redrive' : 'purge';
  // Refused before connecting to anything: an operation nobody answers for does not start.
  assertAccountable(options, `dead-letters --${action}`);
  const perSecond = Number(options.rate);
  if (!(perSecond > 0)) throw new UserError('--rate must be a positive number of messages per second', { where: '--rate' });
  const consumer = spec.consumers[name];
  await withTarget(spec, options, async (target) => {
    // What the selection holds now: the bar's total (the action itself takes only what was held when it began).
    const total = (await listHeld(target.pubsub, consumer, { max, idleMs: 1500 })).filter(selector(select)).length;
    const bar = new SingleBar({
      format: `${action} [{bar}] {value}/{total} | {rate}/s | eta {eta_formatted}`,
      hideCursor: true,
      noTTYOutput: !options.json,
      notTTYSchedule: 5000,
    });
    const started = Date.now();
    if (!options.json) bar.start(total, 0, { rate: 0 });
    const request: HoldOperationRequest = {
      consumer,
      select,
      max,
      owner: options.owner,
      intent: options.intent,
      operator: operatorName(target),
      onProgress: (count) => {
        if (count > bar.getTotal()) bar.setTotal(count);
        bar.update(count, { rate: Math.round(count / Math.max(0.001, (Date.now() - started) / 1000)) });
      },
    };
    const audit = new OperationsAudit(target.bigquery, spec, target.project);
    let operationId: string;
    let taken: HeldMessage[];
    try {
      if (options.redrive) ({ operationId, redriven: taken } = await auditedRedrive(target.pubsub, audit, { ...request, perSecond }));
      else ({ operationId, purged: taken } = await auditedPurge(target.pubsub, audit, spec, request));
    } finally {
      bar.stop();
    }
    if (options.json) return void console.log(JSON.stringify({ consumer: name, action, operationId, messages: taken }, null, 2));
    printMessages(taken);
    console.log(
      options.redrive
        ? `${taken.length} redriven to ${name} only`
        : `${taken.length} purged from ${name}'s hold (their copies stay in BigQuery's dead_letters)`,
    );
    console.log(`operation ${operationId}, recorded in operations_audit: ${mesh(`audit --consumer ${name}`)}`);
  });
}

export function register(program: Command): void {
  targetOptions(
    program
      .command('dead-letters')
      .description('dead-letter triage: what waits in the holds, by consumer, owner and reason against the triage SLA; --redrive or --purge, audited')
      .argument('[consumer]', 'one consumer from the spec: its held messages (required with --redrive and --purge)')
      .option('--redrive', "republish the selected messages to the consumer's redrive topic (that consumer only) and remove them from the hold")
      .option('--purge', "drop the selected messages from the hold for good (their copies stay in BigQuery's dead_letters)")
      .option('--owner <name>', 'who answers for a redrive or purge (required with them)')
      .option('--intent <why>', 'why it is redriven or purged (required with them)')
      .option('--reason <r1,r2>', 'only messages held for these reasons, e.g. max-delivery-attempts (the poison stays)')
      .option('--events <id1,id2>', 'only these events (ce-id)')
      .option('--since <when>', 'only messages dead-lettered since then: RFC 3339, or a duration back from now (2h)')
      .option('--until <when>', 'only messages dead-lettered before then: RFC 3339, or a duration back from now')
      .option('--rate <n>', 'redrive at most this many messages per second', '100')
      .option('--max <n>', 'read at most this many held messages per consumer (a selection picks among them)', '1000')
      .option('--json', 'print JSON'),
  ).action(async (name: string | undefined, options: DeadLetterOptions) => {
    const spec = loadSpec(program.opts().spec);
    if (name !== undefined && !spec.consumers[name])
      throw new UserError(`no consumer "${name}" in the spec; consumers: ${Object.keys(spec.consumers).join(', ')}`);
    const max = Number(options.max);
    if (!Number.isInteger(max) || max < 1) throw new UserError('--max must be a positive integer', { where: '--max' });
    if (options.redrive && options.purge) throw new UserError('--redrive and --purge exclude each other');
    const select: HeldSelection = {
      reasons: list(options.reason),
      eventIds: list(options.events),
      since: options.since === undefined ? undefined : parseWhen(options.since, '--since'),
      until: options.until === undefined ? undefined : parseWhen(options.until, '--until'),
    };
    if (options.redrive || options.purge) {
      if (!name)
        throw new UserError(`--${options.redrive ? 'redrive' : 'purge'} acts on one consumer's hold`, { hint: mesh('dead-letters <consumer> --redrive ...') });
      return act(spec, name, options, max, select);
    }
    if (!name) return triage(spec, options, max, select);
    const messages = await withPubSub(spec, options, async (pubsub) => (await listHeld(pubsub, spec.consumers[name], { max })).filter(selector(select)));
    if (options.json) return void console.log(JSON.stringify({ consumer: name, groups: triageGroups(spec, { [name]: messages }), messages }, null, 2));
    printMessages(messages);
    if (messages.length) printGroups(triageGroups(spec, { [name]: messages }));
    console.log(
      `${messages.length} held${messages.length ? ` (send them back with: ${mesh(`dead-letters ${name} --redrive --owner NAME --intent "why"`)}; drop them with --purge)` : ''}`,
    );
  });
}
