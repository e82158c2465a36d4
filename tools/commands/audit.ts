/**
 * `mesh audit [--consumer C] [--limit N]`: who changed what consumers receive, newest first, from
 * both audits: operations_audit (redrives, each step) and replay_audit (each replay's newest step).
 */
import type { Command } from 'commander';
import { OperationsAudit } from '../../shared/operations';
import { ReplayAudit } from '../../shared/replay';
import { loadSpec } from '../../shared/spec';
import { UserError } from '../../shared/errors';
import { printTable } from '../table';
import { targetOptions, withTarget, type TargetOptions } from './target-options';

interface AuditOptions extends TargetOptions {
  consumer?: string;
  limit: string;
  json?: boolean;
}

/** One line of the audit, whichever table it came from. */
export interface AuditEntry {
  at: string;
  id: string;
  operation: string;
  state: string;
  consumer: string;
  owner: string;
  intent: string;
  operator: string;
  outcome: string;
}

export function register(program: Command): void {
  targetOptions(
    program
      .command('audit')
      .description('who redrove or replayed what to which consumer, why, and the outcome (newest first)')
      .option('--consumer <name>', 'only this consumer')
      .option('--limit <n>', 'at most this many entries', '50')
      .option('--json', 'print JSON'),
  ).action(async (options: AuditOptions) => {
    const spec = loadSpec(program.opts().spec);
    const limit = Number(options.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UserError('--limit must be a positive integer', { where: '--limit' });
    if (options.consumer && !spec.consumers[options.consumer]) throw new UserError(`no consumer "${options.consumer}" in the spec`, { where: '--consumer' });
    await withTarget(spec, options, async (target) => {
      const [operations, replays] = await Promise.all([
        new OperationsAudit(target.bigquery, spec, target.project).latest({ consumer: options.consumer, limit }),
        new ReplayAudit(target.bigquery, spec, target.project).latest(limit, options.consumer),
      ]);
      const entries: AuditEntry[] = [
        ...operations.map((o) => ({
          at: o.recordedAt,
          id: o.operationId,
          operation: o.operation,
          state: o.state,
          consumer: o.consumer,
          owner: o.owner,
          intent: o.intent,
          operator: o.operator,
          outcome: o.state === 'completed' ? `${o.affected ?? 0} message(s)` : o.state === 'failed' ? (o.detail ?? '') : JSON.stringify(o.selection ?? {}),
        })),
        ...replays.map((r) => ({
          at: r.recordedAt,
          id: r.replayId,
          operation: 'replay',
          state: r.state,
          consumer: r.consumer,
          owner: r.owner,
          intent: r.intent,
          operator: r.operator ?? '',
          outcome: `${r.sent}${r.inScope === undefined ? '' : ` of ${r.inScope}`} sent${r.detail ? `; ${r.detail}` : ''}`,
        })),
      ]
        .sort((a, b) => b.at.localeCompare(a.at))
        .slice(0, limit);
      if (options.json) return void console.log(JSON.stringify(entries, null, 2));
      printTable(
        ['at', 'operation', 'id', 'state', 'consumer', 'owner', 'intent', 'operator', 'outcome'],
        entries.map((e) => [e.at, e.operation, e.id, e.state, e.consumer, e.owner, e.intent.slice(0, 60), e.operator, e.outcome.slice(0, 80)]),
      );
      if (!entries.length) console.log('nothing recorded yet');
    });
  });
}
