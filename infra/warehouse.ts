/**
 * The BigQuery side: the spec's dataset, an events table and a deduplicating view per topic, the
 * dead-letter table, the parity results table, and the tables BigQuery-kind consumers write to through Pub/Sub's native
 * BigQuery subscriptions.
 *
 * The tables belong to this program: the warehouse service only verifies them in GCP
 * (MESH_WAREHOUSE_TABLES=verify, services/warehouse/verify.ts).
 *
 * The Pub/Sub agent gets `bigquery.dataEditor` on each BigQuery-subscription table, not on the
 * dataset. Pub/Sub's docs ask for BigQuery Data Editor for the writing service account, granted on
 * the project or on the table (https://cloud.google.com/pubsub/docs/create-bigquery-subscription,
 * "Grant IAM roles to the service account").
 * On a table, dataEditor already reads its metadata (bigquery.tables.get), so metadataViewer adds
 * nothing there; on the dataset, dataEditor would let Pub/Sub write the events and dead-letter tables.
 * The subscriptions wait for the grants to propagate (propagation.ts): Pub/Sub checks the table
 * permission when the subscription is created.
 */
import * as gcp from '@pulumi/gcp';
import type * as pulumi from '@pulumi/pulumi';
import { meshLabels, resourceOptions, type MeshContext } from './context';
import { IAM_PROPAGATION_SECONDS, PropagationWait } from './propagation';
import {
  bigquerySubscriptionTableSchema,
  DEAD_LETTERS_TABLE,
  OPERATIONS_AUDIT_PARTITION_FIELD,
  OPERATIONS_AUDIT_TABLE,
  operationsAuditTableSchema,
  REPLAY_AUDIT_PARTITION_FIELD,
  REPLAY_AUDIT_TABLE,
  replayAuditTableSchema,
  deadLettersTableSchema,
  dedupViewQuery,
  EVENTS_CLUSTERING,
  EVENTS_PARTITION_FIELD,
  eventsDedupViewName,
  eventsTableName,
  eventsTableSchema,
  PARITY_RESULTS_PARTITION_FIELD,
  PARITY_RESULTS_TABLE,
  parityResultsTableSchema,
} from '../shared/warehouse';

export interface MeshWarehouse {
  dataset: gcp.bigquery.Dataset;
  /** Every table and view by table id. */
  tables: Record<string, gcp.bigquery.Table>;
  /**
   * What BigQuery subscriptions must be created after: the Pub/Sub agent's table grants, then the
   * wait for them to propagate (last). Empty without BigQuery-kind consumers.
   */
  agentGrants: pulumi.Resource[];
}

/** The one role the Pub/Sub agent gets, on each BigQuery-subscription table only. */
export const PUBSUB_AGENT_TABLE_ROLE = 'roles/bigquery.dataEditor';

export interface WarehouseOptions {
  /** Wait between the agent's grants and the BigQuery subscriptions; default IAM_PROPAGATION_SECONDS. */
  iamPropagationSeconds?: number;
}

export function createWarehouse(ctx: MeshContext, options: WarehouseOptions = {}): MeshWarehouse {
  const { project } = ctx.config;
  const { dataset: datasetId, location } = ctx.spec.warehouse;
  const protect = ctx.config.deletionProtection;
  const dataset = new gcp.bigquery.Dataset(
    'warehouse',
    {
      project,
      datasetId,
      location,
      description: 'Event mesh: every event, dead letters and BigQuery-kind consumers.',
      // Without protection (dev stacks) `pulumi destroy` may drop a dataset that still has tables.
      deleteContentsOnDestroy: !protect,
      // The warehouse's RPO: changed or deleted rows (and tables) stay recoverable this long.
      maxTimeTravelHours: String(ctx.spec.recovery.warehouse.timeTravelSeconds / 3600),
      labels: meshLabels(),
    },
    resourceOptions(ctx),
  );
  const tables: Record<string, gcp.bigquery.Table> = {};
  const table = (
    tableId: string,
    args: Omit<gcp.bigquery.TableArgs, 'datasetId' | 'tableId' | 'project' | 'deletionProtection'>,
    ...deps: gcp.bigquery.Table[]
  ) =>
    (tables[tableId] = new gcp.bigquery.Table(
      tableId,
      { project, datasetId: dataset.datasetId, tableId, deletionProtection: protect, labels: meshLabels(), ...args },
      resourceOptions(ctx, dataset, ...deps),
    ));

  for (const topic of Object.values(ctx.spec.topics)) {
    const events = table(eventsTableName(topic.name), {
      description: `Every event of topic ${topic.name}, one row per delivery (see ${eventsDedupViewName(topic.name)} for one per event).`,
      schema: JSON.stringify(eventsTableSchema(topic)),
      timePartitioning: { type: 'DAY', field: EVENTS_PARTITION_FIELD },
      clusterings: EVENTS_CLUSTERING,
    });
    table(
      eventsDedupViewName(topic.name),
      {
        description: `${eventsTableName(topic.name)} with one row per event_id.`,
        view: { query: dedupViewQuery(project, datasetId, topic.name), useLegacySql: false },
      },
      events,
    );
  }
  table(DEAD_LETTERS_TABLE, {
    description: 'Events a consumer gave up on, for triage and redrive.',
    schema: JSON.stringify(deadLettersTableSchema()),
    timePartitioning: { type: 'DAY', field: 'dead_lettered_at' },
  });

  // Always, not only with a scheduled run: `mesh parity --gcp --record` by hand writes it too.
  table(PARITY_RESULTS_TABLE, {
    description: 'Every parity run: one row per topic and window (docs/parity.md).',
    schema: JSON.stringify(parityResultsTableSchema()),
    timePartitioning: { type: 'DAY', field: PARITY_RESULTS_PARTITION_FIELD },
  });

  // `mesh replay --gcp` records every step of every replay here (shared/replay/audit.ts).
  table(REPLAY_AUDIT_TABLE, {
    description: 'Every replay: one row per step (docs/operations.md).',
    schema: JSON.stringify(replayAuditTableSchema()),
    timePartitioning: { type: 'DAY', field: REPLAY_AUDIT_PARTITION_FIELD },
  });

  // `mesh dead-letters --redrive --gcp` records every redrive here (shared/operations/audit.ts).
  table(OPERATIONS_AUDIT_TABLE, {
    description: 'Every operation that changes what a consumer receives: one row per step (docs/operations.md).',
    schema: JSON.stringify(operationsAuditTableSchema()),
    timePartitioning: { type: 'DAY', field: OPERATIONS_AUDIT_PARTITION_FIELD },
  });

  const bigqueryConsumers = Object.values(ctx.spec.consumers).filter((c) => c.delivery === 'bigquery');
  const subscriptionTables = [...new Set(bigqueryConsumers.map((c) => c.table!))];
  const grants: gcp.bigquery.IamMember[] = [];
  for (const tableId of subscriptionTables) {
    const written = table(tableId, {
      description: `Written by Pub/Sub for ${bigqueryConsumers
        .filter((c) => c.table === tableId)
        .map((c) => c.name)
        .join(', ')}.`,
      schema: JSON.stringify(bigquerySubscriptionTableSchema()),
      timePartitioning: { type: 'DAY', field: 'publish_time' },
    });
    grants.push(
      new gcp.bigquery.IamMember(
        `pubsub-agent-${tableId}-dataEditor`,
        { project, datasetId: dataset.datasetId, tableId: written.tableId, role: PUBSUB_AGENT_TABLE_ROLE, member: ctx.pubsubAgent },
        resourceOptions(ctx, written, ...ctx.pubsubAgentReady),
      ),
    );
  }
  const agentGrants: pulumi.Resource[] = grants.length
    ? [
        ...grants,
        new PropagationWait(
          'pubsub-agent-bigquery-propagation',
          {
            seconds: options.iamPropagationSeconds ?? IAM_PROPAGATION_SECONDS,
            reason: 'IAM grants propagate in minutes; Pub/Sub checks the table permission when a BigQuery subscription is created',
            triggers: subscriptionTables.map((t) => `${PUBSUB_AGENT_TABLE_ROLE} on ${datasetId}.${t}`),
          },
          resourceOptions(ctx, ...grants),
        ),
      ]
    : [];
  return { dataset, tables, agentGrants };
}

/** `project.dataset.table`, the form BigQuery subscriptions take. */
export const bigquerySubscriptionTable = (ctx: MeshContext, table: string) => `${ctx.config.project}.${ctx.spec.warehouse.dataset}.${table}`;
