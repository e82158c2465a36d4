/**
 * The BigQuery side: the spec's dataset, an events table and a deduplicating view per topic, the
 * dead-letter table, and the tables BigQuery-kind consumers write to through Pub/Sub's native
 * BigQuery subscriptions (for which the Pub/Sub agent needs write access to the dataset).
 */
import * as gcp from '@pulumi/gcp';
import { meshLabels, resourceOptions, type MeshContext } from './context';
import {
  bigquerySubscriptionTableSchema,
  DEAD_LETTERS_TABLE,
  deadLettersTableSchema,
  dedupViewQuery,
  EVENTS_CLUSTERING,
  EVENTS_PARTITION_FIELD,
  eventsDedupViewName,
  eventsTableName,
  eventsTableSchema,
} from './warehouse-schema';

export interface MeshWarehouse {
  dataset: gcp.bigquery.Dataset;
  /** Every table and view by table id. */
  tables: Record<string, gcp.bigquery.Table>;
  /** The Pub/Sub agent's dataset roles, which BigQuery subscriptions need before they are created. */
  agentGrants: gcp.bigquery.DatasetIamMember[];
}

/** Roles the Pub/Sub agent needs to write a BigQuery subscription's table. */
export const PUBSUB_AGENT_DATASET_ROLES = ['roles/bigquery.dataEditor', 'roles/bigquery.metadataViewer'];

export function createWarehouse(ctx: MeshContext): MeshWarehouse {
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
      labels: meshLabels(),
    },
    resourceOptions(ctx),
  );
  const tables: Record<string, gcp.bigquery.Table> = {};
  const table = (tableId: string, args: Omit<gcp.bigquery.TableArgs, 'datasetId' | 'tableId' | 'project' | 'deletionProtection'>, ...deps: gcp.bigquery.Table[]) =>
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
      { description: `${eventsTableName(topic.name)} with one row per event_id.`, view: { query: dedupViewQuery(project, datasetId, topic.name), useLegacySql: false } },
      events,
    );
  }
  table(DEAD_LETTERS_TABLE, {
    description: 'Events a consumer gave up on, for triage and redrive.',
    schema: JSON.stringify(deadLettersTableSchema()),
    timePartitioning: { type: 'DAY', field: 'dead_lettered_at' },
  });

  const bigqueryConsumers = Object.values(ctx.spec.consumers).filter((c) => c.delivery === 'bigquery');
  for (const tableId of new Set(bigqueryConsumers.map((c) => c.table!))) {
    table(tableId, {
      description: `Written by Pub/Sub for ${bigqueryConsumers.filter((c) => c.table === tableId).map((c) => c.name).join(', ')}.`,
      schema: JSON.stringify(bigquerySubscriptionTableSchema()),
      timePartitioning: { type: 'DAY', field: 'publish_time' },
    });
  }
  const agentGrants = bigqueryConsumers.length
    ? PUBSUB_AGENT_DATASET_ROLES.map(
        (role) =>
          new gcp.bigquery.DatasetIamMember(
            `pubsub-agent-${role.replace(/^roles\//, '').replace(/\./g, '-')}`,
            { project, datasetId: dataset.datasetId, role, member: ctx.pubsubAgent },
            resourceOptions(ctx, dataset, ...ctx.pubsubAgentReady),
          ),
      )
    : [];
  return { dataset, tables, agentGrants };
}

/** `project.dataset.table`, the form BigQuery subscriptions take. */
export const bigquerySubscriptionTable = (ctx: MeshContext, table: string) => `${ctx.config.project}.${ctx.spec.warehouse.dataset}.${table}`;
