/**
 * The warehouse's BigQuery tables in create mode (the local endpoint; in GCP the deployment owns them
 * and verify.ts only checks them), made to match the spec through `@google-cloud/bigquery` only:
 *
 * - the spec's dataset;
 * - per topic `<topic>_events` (columns from shared/warehouse/schema.ts: envelope, one typed column per
 *   field of the current schema revision, the full payload as JSON), partitioned by event_time and
 *   clustered by event_type, and the view `<topic>_events_dedup` with one row per event id;
 * - `dead_letters`.
 *
 * Schema evolution: when the current revision adds a field, the table gets the new NULLABLE column by
 * an additive patch (rows loaded before read NULL). A column whose type changed or that disappeared
 * is refused with IncompatibleSchemaError naming it: nothing is loaded as nulls into a column that
 * means something else now.
 */
import type { BigQuery, Dataset, Table, TableField, TableMetadata } from '@google-cloud/bigquery';
import type { MeshSpec, TopicSpec } from '../../shared/spec';
import {
  DEAD_LETTERS_TABLE,
  deadLettersTableSchema,
  dedupViewQuery,
  EVENTS_CLUSTERING,
  EVENTS_PARTITION_FIELD,
  eventsDedupViewName,
  eventsTableName,
  eventsTableSchema,
  type BigQueryField,
} from '../../shared/warehouse';
import { UserError } from '../../shared/errors';

/** BigQuery reports INT64 as INTEGER, FLOAT64 as FLOAT, BOOL as BOOLEAN. */
const LEGACY: Record<string, string> = { INTEGER: 'INT64', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL', STRUCT: 'RECORD' };
export const sameType = (a: string, b: string) => (LEGACY[a.toUpperCase()] ?? a.toUpperCase()) === (LEGACY[b.toUpperCase()] ?? b.toUpperCase());

export interface ColumnProblem {
  column: string;
  problem: 'removed' | 'type-changed' | 'mode-changed';
  message: string;
}

/** The table's columns no longer fit the spec; loading would put nulls or wrong types into them. */
export class IncompatibleSchemaError extends UserError {
  override readonly name = 'IncompatibleSchemaError';
  constructor(
    readonly table: string,
    readonly problems: ColumnProblem[],
  ) {
    super(
      `table ${table} cannot take the current schema: ${problems.map((p) => p.message).join('; ')}. ` +
        'Only additive changes (new optional fields) are applied automatically; add a new revision with a new field name, or migrate the table by hand.',
    );
  }

  /** The first column that does not fit. */
  get column(): string {
    return this.problems[0].column;
  }
}

export interface SchemaPlan {
  /** Columns to append (NULLABLE). */
  add: BigQueryField[];
  problems: ColumnProblem[];
}

/** Compares a table's current columns with the wanted ones. */
export function planSchemaChange(existing: readonly Pick<TableField, 'name' | 'type' | 'mode'>[], wanted: readonly BigQueryField[]): SchemaPlan {
  const problems: ColumnProblem[] = [];
  const byName = new Map(wanted.map((f) => [f.name.toLowerCase(), f]));
  for (const column of existing) {
    const name = column.name ?? '';
    const want = byName.get(name.toLowerCase());
    if (!want) {
      problems.push({ column: name, problem: 'removed', message: `column "${name}" is not in the current schema (removed or renamed)` });
    } else if (!sameType(String(column.type ?? 'STRING'), want.type)) {
      problems.push({ column: name, problem: 'type-changed', message: `column "${name}" is ${column.type} but the current schema makes it ${want.type}` });
    } else if ((column.mode ?? 'NULLABLE').toUpperCase() === 'NULLABLE' && want.mode === 'REQUIRED') {
      problems.push({ column: name, problem: 'mode-changed', message: `column "${name}" is NULLABLE but the current schema makes it REQUIRED` });
    }
  }
  const have = new Set(existing.map((c) => (c.name ?? '').toLowerCase()));
  // New columns must be NULLABLE: the rows already loaded have no value for them.
  const add = wanted.filter((f) => !have.has(f.name.toLowerCase())).map((f) => ({ ...f, mode: 'NULLABLE' as const }));
  return { add, problems };
}

export interface TableChange {
  table: string;
  action: 'created' | 'columns-added' | 'view-updated' | 'unchanged';
  /** columns-added: the new columns. */
  columns?: string[];
}

export interface WarehouseTables {
  dataset: Dataset;
  /** topic -> `<topic>_events` */
  events: Record<string, Table>;
  /** topic -> `<topic>_events_dedup` */
  dedupViews: Record<string, Table>;
  deadLetters: Table;
  changes: TableChange[];
}

export interface EnsureOptions {
  /** Project the dedup views name their tables in; default the client's project. */
  project?: string;
  log?: (line: string) => void;
}

const code = (error: unknown) => (error as { code?: number }).code;

/** Creates the dataset if missing (a concurrent creator is fine). */
export async function ensureDataset(bigquery: BigQuery, spec: Pick<MeshSpec, 'warehouse'>): Promise<Dataset> {
  const dataset = bigquery.dataset(spec.warehouse.dataset, { location: spec.warehouse.location });
  const [exists] = await dataset.exists();
  if (!exists) {
    try {
      await bigquery.createDataset(spec.warehouse.dataset, {
        location: spec.warehouse.location,
        description: 'Event mesh: every event, dead letters and BigQuery-kind consumers.',
      });
    } catch (error) {
      if (code(error) !== 409) throw error;
    }
  }
  return dataset;
}

/**
 * Makes a table match `fields`: creates it, or appends the missing columns with one patch (retried
 * if someone else patched it meanwhile: the etag makes the patch conditional). Refuses removed or
 * retyped columns.
 */
export async function ensureTable(
  dataset: Dataset,
  tableId: string,
  fields: BigQueryField[],
  options: Pick<TableMetadata, 'timePartitioning' | 'clustering' | 'description'> = {},
): Promise<{ table: Table; change: TableChange }> {
  const table = dataset.table(tableId);
  const [exists] = await table.exists();
  if (!exists) {
    try {
      await dataset.createTable(tableId, { schema: { fields }, ...options });
      return { table, change: { table: tableId, action: 'created' } };
    } catch (error) {
      if (code(error) !== 409) throw error;
    }
  }
  for (let attempt = 1; ; attempt++) {
    const [metadata] = await table.getMetadata();
    const existing: TableField[] = metadata.schema?.fields ?? [];
    const plan = planSchemaChange(existing, fields);
    if (plan.problems.length) throw new IncompatibleSchemaError(`${dataset.id}.${tableId}`, plan.problems);
    if (!plan.add.length) return { table, change: { table: tableId, action: 'unchanged' } };
    try {
      await table.setMetadata({ schema: { fields: [...existing, ...plan.add] }, etag: metadata.etag });
      return { table, change: { table: tableId, action: 'columns-added', columns: plan.add.map((f) => f.name) } };
    } catch (error) {
      // 412: the table changed since we read it; read it again and re-plan.
      if (code(error) !== 412 || attempt >= 5) throw error;
    }
  }
}

/** The topic's events table, with the columns of its current schema revision. */
export async function ensureEventsTable(dataset: Dataset, topic: TopicSpec): Promise<{ table: Table; change: TableChange }> {
  return ensureTable(dataset, eventsTableName(topic.name), eventsTableSchema(topic), {
    description: `Every event of topic ${topic.name}, one row per delivery (see ${eventsDedupViewName(topic.name)} for one per event).`,
    timePartitioning: { type: 'DAY', field: EVENTS_PARTITION_FIELD },
    clustering: { fields: [...EVENTS_CLUSTERING] },
  });
}

export async function ensureDeadLettersTable(dataset: Dataset): Promise<{ table: Table; change: TableChange }> {
  return ensureTable(dataset, DEAD_LETTERS_TABLE, deadLettersTableSchema(), {
    description: 'Events a consumer gave up on, for triage and redrive.',
    timePartitioning: { type: 'DAY', field: 'dead_lettered_at' },
  });
}

/** `<topic>_events_dedup`: created, or its query updated when it differs. */
export async function ensureDedupView(dataset: Dataset, project: string, topic: Pick<TopicSpec, 'name'>): Promise<{ table: Table; change: TableChange }> {
  const name = eventsDedupViewName(topic.name);
  const query = dedupViewQuery(project, dataset.id!, topic.name);
  const view = dataset.table(name);
  const [exists] = await view.exists();
  if (!exists) {
    try {
      await dataset.createTable(name, { view: { query, useLegacySql: false }, description: `${eventsTableName(topic.name)} with one row per event_id.` });
      return { table: view, change: { table: name, action: 'created' } };
    } catch (error) {
      if (code(error) !== 409) throw error;
    }
  }
  const [metadata] = await view.getMetadata();
  if (metadata.view?.query === query) return { table: view, change: { table: name, action: 'unchanged' } };
  await view.setMetadata({ view: { query, useLegacySql: false } });
  return { table: view, change: { table: name, action: 'view-updated' } };
}

/** Everything the warehouse writes to, for every topic of the spec. Safe to run on every start. */
export async function ensureWarehouse(bigquery: BigQuery, spec: MeshSpec, options: EnsureOptions = {}): Promise<WarehouseTables> {
  const project = options.project ?? (await bigquery.getProjectId());
  const dataset = await ensureDataset(bigquery, spec);
  const result: WarehouseTables = { dataset, events: {}, dedupViews: {}, deadLetters: dataset.table(DEAD_LETTERS_TABLE), changes: [] };
  const note = (change: TableChange) => {
    result.changes.push(change);
    if (change.action !== 'unchanged') options.log?.(`warehouse: ${change.table} ${change.action}${change.columns ? ` (${change.columns.join(', ')})` : ''}`);
  };
  for (const topic of Object.values(spec.topics)) {
    const events = await ensureEventsTable(dataset, topic);
    note(events.change);
    result.events[topic.name] = events.table;
    const view = await ensureDedupView(dataset, project, topic);
    note(view.change);
    result.dedupViews[topic.name] = view.table;
  }
  const deadLetters = await ensureDeadLettersTable(dataset);
  note(deadLetters.change);
  result.deadLetters = deadLetters.table;
  return result;
}
