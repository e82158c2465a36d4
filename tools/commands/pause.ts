/**
 * `mesh pause <consumer> --owner NAME --intent WHY` and `mesh resume <consumer> --owner NAME --intent WHY`:
 * stop delivery to one consumer while its downstream is out, its messages waiting in its
 * subscription (the buffer), and deliver again. Audited in operations_audit (shared/operations/pause.ts);
 * `mesh status` shows what is paused and how much of the retention its oldest message has used.
 * Locally against `npm start`; with --gcp against a deployed stack (push subscriptions switch to pull).
 */
import type { Command } from 'commander';
import { UserError } from '../../shared/errors';
import { assertAccountable, auditedPause, auditedResume, OperationsAudit, type PauseOutcome } from '../../shared/operations';
import { approxDuration, loadSpec } from '../../shared/spec';
import { operatorName, targetOptions, withTarget, type TargetOptions } from './target-options';

interface PauseOptions extends TargetOptions {
  owner?: string;
  intent?: string;
  json?: boolean;
}

function print(action: 'pause' | 'resume', outcome: PauseOutcome, options: PauseOptions): void {
  if (options.json) return void console.log(JSON.stringify(outcome, null, 2));
  const { control } = outcome;
  if (action === 'pause')
    console.log(
      `${control.consumer} paused (operation ${outcome.operationId}). Its messages wait in ${outcome.subscriptions.join(' and ')} ` +
        `for at most ${approxDuration(outcome.retentionSeconds)}; \`npm run mesh -- status\` warns at 80 % of that. ` +
        `Resume with: npm run mesh -- resume ${control.consumer} --owner NAME --intent "why"`,
    );
  else console.log(`${control.consumer} resumed (operation ${outcome.operationId}): its backlog drains at its own pace (watch \`npm run mesh -- status\`).`);
}

function registerOne(program: Command, action: 'pause' | 'resume'): void {
  targetOptions(
    program
      .command(action)
      .description(
        action === 'pause'
          ? 'stop delivery to one consumer (its messages wait in its subscription; other consumers are untouched), audited'
          : 'deliver to a paused consumer again (its backlog drains), audited',
      )
      .argument('<consumer>', 'consumer name from the spec')
      .option('--owner <name>', `who answers for the ${action} (required)`)
      .option('--intent <why>', `why, e.g. "orders DB maintenance until 14:00" (required)`)
      .option('--json', 'print JSON'),
  ).action(async (name: string, options: PauseOptions) => {
    const spec = loadSpec(program.opts().spec);
    const consumer = spec.consumers[name];
    if (!consumer) throw new UserError(`no consumer "${name}" in the spec; consumers: ${Object.keys(spec.consumers).join(', ')}`);
    // Refused before connecting to anything.
    assertAccountable(options, action);
    await withTarget(spec, options, async (target) => {
      const audit = new OperationsAudit(target.bigquery, spec, target.project);
      const request = { consumer, owner: options.owner, intent: options.intent, operator: operatorName(target) };
      const where = { pubsub: target.pubsub, firestore: target.firestore, audit };
      print(action, await (action === 'pause' ? auditedPause(where, request) : auditedResume(where, request)), options);
    });
  });
}

export function register(program: Command): void {
  registerOne(program, 'pause');
  registerOne(program, 'resume');
}
