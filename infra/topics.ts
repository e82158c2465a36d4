/**
 * One schema and one topic per spec topic. The topic's retention covers every consumer's replay
 * window (a seek can only go back as far as the topic keeps messages).
 */
import * as gcp from '@pulumi/gcp';
import { topicSchemaName, toProtoDuration, type TopicSpec } from '../shared/spec';
import { topicSchemas } from '../shared/schemas';
import * as pulumi from '@pulumi/pulumi';
import { meshLabels, labelValue, resourceOptions, type MeshContext } from './context';
import { topicLaunchState } from './launch-readiness';
import { SchemaRevisions } from './schema-revisions-resource';

export interface MeshTopic {
  spec: TopicSpec;
  schema: gcp.pubsub.Schema;
  /** Every accepted revision committed on the schema; revisionIds maps v1, v2 ... to Pub/Sub's ids. */
  revisions: SchemaRevisions;
  topic: gcp.pubsub.Topic;
}

/** Seconds the topic keeps messages: its own retention, never shorter than a consumer's replay window. */
export function topicRetentionSeconds(ctx: Pick<MeshContext, 'spec'>, topic: TopicSpec): number {
  const replays = Object.values(ctx.spec.consumers)
    .filter((c) => c.topic === topic.name && c.replay)
    .map((c) => c.replay!.retentionSeconds);
  return Math.max(topic.retentionSeconds, ...replays);
}

export function createTopics(ctx: MeshContext): Record<string, MeshTopic> {
  const topics: Record<string, MeshTopic> = {};
  for (const topic of Object.values(ctx.spec.topics)) {
    // High-impact topics carry their launch checklist for the policy pack (launch-readiness.ts).
    const launch = topicLaunchState(ctx.spec, topic);
    if (launch.missing.length)
      void pulumi.log.warn(
        `high-impact topic ${topic.name} is not launch ready (npm run mesh -- readiness --topic ${topic.name}):\n${launch.missing.join('\n')}`,
      );
    // The Schema resource is created with the oldest accepted revision and then left alone
    // (ignoreChanges): changing `definition` commits a new revision, which would put an old definition
    // after newer ones. SchemaRevisions commits the rest in spec order; the topic accepts exactly the
    // spec's `accept` range, inclusive (schemaSettings first/lastRevisionId, see schema-revisions.ts).
    const accepted = topicSchemas(ctx.spec, topic.name).accepted;
    const schema = new gcp.pubsub.Schema(
      topicSchemaName(topic.name),
      { project: ctx.config.project, name: topicSchemaName(topic.name), type: 'AVRO', definition: accepted[0].definition },
      { ...resourceOptions(ctx), ignoreChanges: ['definition'] },
    );
    const revisions = new SchemaRevisions(
      `${topicSchemaName(topic.name)}-revisions`,
      { schema: schema.id, revisions: accepted.map((r) => ({ name: r.name, definition: r.definition })) },
      resourceOptions(ctx, schema),
    );
    const revisionId = (name: string) => revisions.revisionIds.apply((ids) => ids[name]);
    const pubsubTopic = new gcp.pubsub.Topic(
      topic.name,
      {
        project: ctx.config.project,
        name: topic.name,
        messageRetentionDuration: toProtoDuration(topicRetentionSeconds(ctx, topic)),
        // Producers send JSON-encoded Avro (see shared/schemas); Pub/Sub rejects anything else.
        schemaSettings: {
          schema: schema.id,
          encoding: 'JSON',
          firstRevisionId: revisionId(accepted[0].name),
          lastRevisionId: revisionId(accepted[accepted.length - 1].name),
        },
        labels: meshLabels({ 'mesh-topic': labelValue(topic.name), ...(topic.owner ? { owner: labelValue(topic.owner) } : {}), ...launch.labels }),
      },
      resourceOptions(ctx, schema, revisions),
    );
    topics[topic.name] = { spec: topic, schema, revisions, topic: pubsubTopic };
  }
  return topics;
}
