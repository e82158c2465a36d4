/**
 * `mesh dead-letters <consumer> [--redrive --owner NAME --intent WHY [--reason R] [--events IDS]]`:
 * what waits in a consumer's dead-letter hold and why; with --redrive, send it (or the selected part)
 * back to that consumer only (shared/consumer/dead-letter-hold.ts), audited in operations_audit
 * (shared/operations). Locally against `npm start`; with --gcp against a deployed stack.
 */
import type { Command } from 'commander';
import { listHeld, type HeldMessage, type HeldSelection } from '../../shared/consumer/dead-letter-hold';
import { pubsubFromEnv } from '../../shared/consumer/env';
import { assertEmulatorUp, localPubSub, localPubsubHost } from '../../shared/local/connect';
import { assertAccountable, auditedRedrive, OperationsAudit } from '../../shared/operations';
import { loadSpec } from '../../shared/spec';
import { printTable } from '../table';
import { UserError } from '../../shared/errors';
import { operatorName, targetOptions, withTarget, type TargetOptions } from './target-options';

interface DeadLetterOptions extends TargetOptions {
  redrive?: boolean;
  owner?: string;
  intent?: string;
  reason?: string;
  events?: string;
  max: string;
  json?: boolean;
}

const list = (text?: string) =>
  text
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function print(name: string, messages: HeldMessage[], options: DeadLetterOptions, operationId?: string): void {
  if (options.json) return void console.log(JSON.stringify({ consumer: name, redriven: Boolean(options.redrive), operationId, messages }, null, 2));
  printTable(
    ['dead-lettered at', 'event id', 'type', 'reason', 'error'],
    messages.map((m) => [m.deadLetteredAt, m.eventId ?? '-', m.type ?? '-', m.reason, (m.error ?? '').slice(0, 80)]),
  );
  console.log(
    options.redrive
      ? `${messages.length} redriven to ${name} only (operation ${operationId}, recorded in operations_audit: npm run mesh -- audit --consumer ${name})`
      : `${messages.length} held${messages.length ? ` (send them back with: npm run mesh -- dead-letters ${name} --redrive --owner NAME --intent "why")` : ''}`,
  );
}

export function register(program: Command): void {
  targetOptions(
    program
      .command('dead-letters')
      .description("list what waits in a consumer's dead-letter hold and why; --redrive sends it back to that consumer only, audited")
      .argument('<consumer>', 'consumer name from the spec')
      .option('--redrive', "republish the held messages to the consumer's redrive topic and remove them from the hold")
      .option('--owner <name>', 'who answers for the redrive (required with --redrive)')
      .option('--intent <why>', 'why it is redriven (required with --redrive)')
      .option('--reason <r1,r2>', 'redrive only messages held for these reasons, e.g. max-delivery-attempts (the poison stays)')
      .option('--events <id1,id2>', 'redrive only these events (ce-id)')
      .option('--max <n>', 'read at most this many held messages (a selection picks among them)', '100')
      .option('--json', 'print JSON'),
  ).action(async (name: string, options: DeadLetterOptions) => {
    const spec = loadSpec(program.opts().spec);
    const consumer = spec.consumers[name];
    if (!consumer) throw new UserError(`no consumer "${name}" in the spec; consumers: ${Object.keys(spec.consumers).join(', ')}`);
    const max = Number(options.max);
    if (!Number.isInteger(max) || max < 1) throw new UserError('--max must be a positive integer', { where: '--max' });
    const select: HeldSelection = { reasons: list(options.reason), eventIds: list(options.events) };
    if (!options.redrive) {
      if (select.reasons || select.eventIds) throw new UserError('--reason and --events select what --redrive sends back', { hint: 'add --redrive' });
      let pubsub;
      if (options.gcp) {
        delete process.env.PUBSUB_EMULATOR_HOST;
        pubsub = pubsubFromEnv(options.project ?? process.env.GOOGLE_CLOUD_PROJECT ?? spec.project);
      } else {
        await assertEmulatorUp(localPubsubHost(spec), 'Pub/Sub');
        pubsub = localPubSub(spec);
      }
      try {
        return print(name, await listHeld(pubsub, consumer, { max }), options);
      } finally {
        await pubsub.close();
      }
    }
    // Refused before connecting to anything: a redrive nobody answers for does not start.
    assertAccountable(options, 'dead-letters --redrive');
    await withTarget(spec, options, async (target) => {
      const audit = new OperationsAudit(target.bigquery, spec, target.project);
      const { operationId, redriven } = await auditedRedrive(target.pubsub, audit, {
        consumer,
        select,
        max,
        owner: options.owner,
        intent: options.intent,
        operator: operatorName(target),
      });
      print(name, redriven, options, operationId);
    });
  });
}
