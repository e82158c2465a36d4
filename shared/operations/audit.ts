/**
 * The operations audit: who changed what a consumer receives, why, what exactly and with what
 * outcome, as rows of `operations_audit` in the warehouse dataset (one per step: started, then
 * completed or failed), written with the same BigQuery client locally and in GCP (infra creates the
 * table there). Replays keep their richer history in replay_audit (shared/replay/audit.ts).
 */
import { randomBytes } from 'node:crypto';
import type { BigQuery } from '@google-cloud/bigquery';
import { UserError } from '../errors';
import type { MeshSpec } from '../spec/types';
import { ensureToolTable, OPERATIONS_AUDIT_PARTITION_FIELD, OPERATIONS_AUDIT_TABLE, operationsAuditTableSchema, timestampText } from '../warehouse';

export type OperationKind = 'redrive' | 'purge' | 'pause' | 'resume' | 'canary-start' | 'canary-promote' | 'canary-abort';
export type OperationState = 'started' | 'completed' | 'failed';

/** Who asks and why: required of every operation. */
export interface Accountable {
  /** Who answers for it (a person or team). */
  owner: string;
  /** Why it is run, in words an auditor understands. */
  intent: string;
  /** Who ran the command (OS user, or GCP account). */
  operator: string;
}

export interface OperationRecord extends Accountable {
  operationId: string;
  recordedAt: string;
  operation: OperationKind;
  state: OperationState;
  consumer: string;
  selection?: Record<string, unknown>;
  affected?: number;
  affectedEvents?: string[];
  detail?: string;
}

/** Event ids kept per record: an auditor needs them, a row must stay well under BigQuery's 10 MB. */
export const MAX_AFFECTED_EVENTS = 10_000;

/** Refuses an operation nobody answers for, before anything happens. */
export function assertAccountable<T extends { owner?: string; intent?: string }>(
  who: T,
  command: string,
): asserts who is T & Pick<Accountable, 'owner' | 'intent'> {
  const missing = (['owner', 'intent'] as const).filter((k) => !who[k]?.trim());
  if (missing.length)
    throw new UserError(`${command} needs ${missing.map((k) => `--${k}`).join(' and ')}: every change to what a consumer receives is audited`, {
      hint: `e.g. --owner payments-oncall --intent "redrive after the Firestore outage of 04:10"`,
    });
}

/** `op-<UTC yyyymmddhhmmss>-<6 hex>`. */
export function newOperationId(now = new Date()): string {
  return `op-${now.toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`;
}

interface AuditRow {
  operation_id: string;
  recorded_at: unknown;
  operation: string;
  state: string;
  consumer: string;
  owner: string;
  intent: string;
  operator: string | null;
  selection: unknown;
  affected: number | null;
  affected_events: unknown;
  detail: string | null;
}

const parsed = (value: unknown) => (value === null || value === undefined ? undefined : typeof value === 'string' ? JSON.parse(value) : value);

export class OperationsAudit {
  private ready?: Promise<void>;

  constructor(
    private readonly bigquery: BigQuery,
    private readonly spec: MeshSpec,
    private readonly project: string,
  ) {}

  /** Creates the table where it is missing (locally; in GCP the deployment made it). */
  ensureTable(): Promise<void> {
    this.ready ??= ensureToolTable(this.bigquery, this.spec, {
      name: OPERATIONS_AUDIT_TABLE,
      fields: operationsAuditTableSchema(),
      partitionField: OPERATIONS_AUDIT_PARTITION_FIELD,
      description: 'Every operation that changes what a consumer receives: one row per step (docs/operations.md).',
    });
    return this.ready;
  }

  async record(record: OperationRecord): Promise<void> {
    await this.ensureTable();
    const table = this.bigquery.dataset(this.spec.warehouse.dataset, { location: this.spec.warehouse.location }).table(OPERATIONS_AUDIT_TABLE);
    await table.insert(
      [
        {
          insertId: `${record.operationId}/${record.state}`,
          json: {
            operation_id: record.operationId,
            recorded_at: record.recordedAt,
            operation: record.operation,
            state: record.state,
            consumer: record.consumer,
            owner: record.owner,
            intent: record.intent,
            operator: record.operator || null,
            selection: record.selection ? JSON.stringify(record.selection) : null,
            affected: record.affected ?? null,
            affected_events: record.affectedEvents ? JSON.stringify(record.affectedEvents.slice(0, MAX_AFFECTED_EVENTS)) : null,
            detail: record.detail ?? null,
          },
        },
      ],
      { raw: true },
    );
  }

  /** The newest steps, newest first; of one consumer when given. */
  async latest(options: { consumer?: string; limit?: number } = {}): Promise<OperationRecord[]> {
    await this.ensureTable();
    const table = `\`${this.project}.${this.spec.warehouse.dataset}.${OPERATIONS_AUDIT_TABLE}\``;
    const [rows] = await this.bigquery.query({
      query: `SELECT * FROM ${table} WHERE (@consumer = '' OR consumer = @consumer) ORDER BY recorded_at DESC LIMIT ${Math.max(1, Math.floor(options.limit ?? 50))}`,
      params: { consumer: options.consumer ?? '' },
      location: this.spec.warehouse.location,
    });
    return (rows as AuditRow[]).map((r) => ({
      operationId: r.operation_id,
      recordedAt: new Date(timestampText(r.recorded_at)).toISOString(),
      operation: r.operation as OperationKind,
      state: r.state as OperationState,
      consumer: r.consumer,
      owner: r.owner,
      intent: r.intent,
      operator: r.operator ?? '',
      selection: parsed(r.selection) as Record<string, unknown> | undefined,
      affected: r.affected === null ? undefined : Number(r.affected),
      affectedEvents: parsed(r.affected_events) as string[] | undefined,
      detail: r.detail ?? undefined,
    }));
  }
}

/** The record of one step of an operation, all but its state and outcome fixed at the start. */
export function stepsOf(
  base: Pick<OperationRecord, 'operationId' | 'operation' | 'consumer' | 'selection'> & Accountable,
): (state: OperationState, extra?: Partial<OperationRecord>) => OperationRecord {
  return (state, extra = {}) => ({ ...base, recordedAt: new Date().toISOString(), state, ...extra });
}

/**
 * Runs an operation between its audit steps: `started` before anything changes (an operation nobody
 * could record does not happen), then `completed` with what the work reports, or `failed` with its error.
 */
export async function withAuditSteps<T>(
  audit: Pick<OperationsAudit, 'record'>,
  step: ReturnType<typeof stepsOf>,
  work: () => Promise<{ value: T; completed?: Partial<OperationRecord> }>,
  /** What the work did before it failed (e.g. the messages already redriven), recorded with the failure. */
  partial?: () => Partial<OperationRecord>,
): Promise<T> {
  await audit.record(step('started'));
  let done: { value: T; completed?: Partial<OperationRecord> };
  try {
    done = await work();
  } catch (error) {
    await audit.record(step('failed', { ...partial?.(), detail: (error as Error).message }));
    throw error;
  }
  await audit.record(step('completed', done.completed));
  return done.value;
}
