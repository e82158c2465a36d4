/**
 * The replay audit: every step of every replay (requested, started, progress, completed, failed,
 * cancelled) as a row of `replay_audit` in the warehouse dataset, written with the same BigQuery
 * client locally (the local endpoint) and in GCP (infra/warehouse.ts creates the table there).
 * Each row repeats who, why and what, so any one row answers an auditor; the newest row of a replay
 * is its state, and its checkpoint is where a resume goes on.
 */
import type { BigQuery, Dataset } from '@google-cloud/bigquery';
import type { Firestore } from '@google-cloud/firestore';
import { writeReplayStatus, type ReplayStatusRecord } from '../firestore/replays';
import type { MeshSpec } from '../spec/types';
import { ensureToolTable, REPLAY_AUDIT_PARTITION_FIELD, REPLAY_AUDIT_TABLE, replayAuditTableSchema, timestampText } from '../warehouse';
import type { ReplayRequest, ReplayScope } from './request';
import type { ReplayCheckpoint } from './source';

export type ReplayState = 'requested' | 'cleared' | 'started' | 'progress' | 'completed' | 'failed' | 'cancelled';

/** States after which nothing more happens unless someone resumes it. */
export const FINAL_STATES: readonly ReplayState[] = ['completed', 'failed', 'cancelled'];

export interface ReplayRecord {
  replayId: string;
  recordedAt: string;
  state: ReplayState;
  consumer: string;
  topic: string;
  owner: string;
  intent: string;
  operator?: string;
  scope: ReplayScope;
  ceilingPerSecond: number;
  inScope?: number;
  sent: number;
  checkpoint?: ReplayCheckpoint;
  elapsedSeconds: number;
  detail?: string;
}

/** What a step adds to the request: where it got to. */
export interface ReplayProgress {
  inScope?: number;
  sent: number;
  checkpoint?: ReplayCheckpoint;
  elapsedSeconds: number;
  detail?: string;
}

export function recordOf(request: ReplayRequest, state: ReplayState, progress: ReplayProgress, at = new Date()): ReplayRecord {
  return {
    replayId: request.id,
    recordedAt: at.toISOString(),
    state,
    consumer: request.consumer,
    topic: request.scope.topic,
    owner: request.owner,
    intent: request.intent,
    operator: request.operator,
    scope: request.scope,
    ceilingPerSecond: request.ceilingPerSecond,
    ...progress,
  };
}

/** The request a record was made for (to resume it). */
export function requestOf(record: ReplayRecord): ReplayRequest {
  return {
    id: record.replayId,
    consumer: record.consumer,
    scope: record.scope,
    ceilingPerSecond: record.ceilingPerSecond,
    owner: record.owner,
    intent: record.intent,
    operator: record.operator ?? '',
    requestedAt: record.recordedAt,
  };
}

interface AuditRow {
  replay_id: string;
  recorded_at: unknown;
  state: string;
  consumer: string;
  topic: string;
  owner: string;
  intent: string;
  operator: string | null;
  scope: unknown;
  ceiling_per_second: number | null;
  in_scope: number | null;
  sent: number | null;
  checkpoint: unknown;
  elapsed_seconds: number | null;
  detail: string | null;
}

const parsed = (value: unknown) => (value === null || value === undefined ? undefined : typeof value === 'string' ? JSON.parse(value) : value);

/** Each step as the dashboard's replay panel shows it (shared/firestore/replays.ts). */
export function statusOf(record: ReplayRecord): ReplayStatusRecord {
  return {
    replayId: record.replayId,
    consumer: record.consumer,
    topic: record.topic,
    state: record.state,
    owner: record.owner,
    intent: record.intent,
    operator: record.operator,
    inScope: record.inScope,
    sent: record.sent,
    ceilingPerSecond: record.ceilingPerSecond,
    ratePerSecond: record.elapsedSeconds > 0 ? Math.round((record.sent / record.elapsedSeconds) * 10) / 10 : undefined,
    elapsedSeconds: record.elapsedSeconds,
    detail: record.detail,
    updatedAt: record.recordedAt,
  };
}

export interface ReplayAuditOptions {
  /** Where each step is also shown (replaysLatest, the dashboard's replay panel). */
  firestore?: Firestore;
}

export class ReplayAudit {
  private ready?: Promise<void>;

  constructor(
    private readonly bigquery: BigQuery,
    private readonly spec: MeshSpec,
    private readonly project: string,
    private readonly options: ReplayAuditOptions = {},
  ) {}

  private get dataset(): Dataset {
    return this.bigquery.dataset(this.spec.warehouse.dataset, { location: this.spec.warehouse.location });
  }

  private get table(): string {
    return `\`${this.project}.${this.spec.warehouse.dataset}.${REPLAY_AUDIT_TABLE}\``;
  }

  /** Creates the table where it is missing (locally; in GCP the deployment made it). */
  ensureTable(): Promise<void> {
    this.ready ??= ensureToolTable(this.bigquery, this.spec, {
      name: REPLAY_AUDIT_TABLE,
      fields: replayAuditTableSchema(),
      partitionField: REPLAY_AUDIT_PARTITION_FIELD,
      description: 'Every replay: one row per step (docs/operations.md).',
    });
    return this.ready;
  }

  async record(record: ReplayRecord): Promise<void> {
    await this.ensureTable();
    await this.dataset.table(REPLAY_AUDIT_TABLE).insert(
      [
        {
          insertId: `${record.replayId}/${record.recordedAt}/${record.state}`,
          json: {
            replay_id: record.replayId,
            recorded_at: record.recordedAt,
            state: record.state,
            consumer: record.consumer,
            topic: record.topic,
            owner: record.owner,
            intent: record.intent,
            operator: record.operator ?? null,
            scope: JSON.stringify(record.scope),
            ceiling_per_second: record.ceilingPerSecond,
            in_scope: record.inScope ?? null,
            sent: record.sent,
            checkpoint: record.checkpoint ? JSON.stringify(record.checkpoint) : null,
            elapsed_seconds: record.elapsedSeconds,
            detail: record.detail ?? null,
          },
        },
      ],
      { raw: true },
    );
    // The panel is a view of the audit, not the record: a replay does not stop because it lags.
    if (this.options.firestore) await writeReplayStatus(this.options.firestore, statusOf(record)).catch(() => undefined);
  }

  private async rows(query: string, params: Record<string, unknown>): Promise<ReplayRecord[]> {
    await this.ensureTable();
    const [rows] = await this.bigquery.query({ query, params, location: this.spec.warehouse.location });
    return (rows as AuditRow[]).map((r) => ({
      replayId: r.replay_id,
      recordedAt: new Date(timestampText(r.recorded_at)).toISOString(),
      state: r.state as ReplayState,
      consumer: r.consumer,
      topic: r.topic,
      owner: r.owner,
      intent: r.intent,
      operator: r.operator ?? undefined,
      scope: parsed(r.scope) as ReplayScope,
      ceilingPerSecond: Number(r.ceiling_per_second ?? 0),
      inScope: r.in_scope === null ? undefined : Number(r.in_scope),
      sent: Number(r.sent ?? 0),
      checkpoint: parsed(r.checkpoint) as ReplayCheckpoint | undefined,
      elapsedSeconds: Number(r.elapsed_seconds ?? 0),
      detail: r.detail ?? undefined,
    }));
  }

  /** Every step of one replay, oldest first. */
  history(replayId: string): Promise<ReplayRecord[]> {
    return this.rows(`SELECT * FROM ${this.table} WHERE replay_id = @id ORDER BY recorded_at, sent`, { id: replayId });
  }

  /** The newest step of each replay (of one consumer when given), newest first. */
  latest(limit = 50, consumer = ''): Promise<ReplayRecord[]> {
    return this.rows(
      `SELECT * FROM ${this.table} WHERE (@consumer = '' OR consumer = @consumer)
       QUALIFY ROW_NUMBER() OVER (PARTITION BY replay_id ORDER BY recorded_at DESC, sent DESC) = 1
       ORDER BY recorded_at DESC LIMIT ${Math.max(1, Math.floor(limit))}`,
      { consumer },
    );
  }
}
