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

export interface MeshTopic {
  spec: TopicSpec;
  schema: gcp.pubsub.Schema;
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
    // The Schema resource holds one definition: the newest accepted revision. Changing it commits a new
    // revision, so a stack that started on v1 keeps v1 in the schema's history (see docs/infra.md).
    const current = topicSchemas(ctx.spec, topic.name).current;
    // High-impact topics carry their launch checklist for the policy pack (launch-readiness.ts).
    const launch = topicLaunchState(ctx.spec, topic);
    if (launch.missing.length)
      void pulumi.log.warn(
        `high-impact topic ${topic.name} is not launch ready (npm run mesh -- readiness --topic ${topic.name}):\n${launch.missing.join('\n')}`,
      );
    const schema = new gcp.pubsub.Schema(
      topicSchemaName(topic.name),
      { project: ctx.config.project, name: topicSchemaName(topic.name), type: 'AVRO', definition: current.definition },
      resourceOptions(ctx),
    );
    const pubsubTopic = new gcp.pubsub.Topic(
      topic.name,
      {
        project: ctx.config.project,
        name: topic.name,
        messageRetentionDuration: toProtoDuration(topicRetentionSeconds(ctx, topic)),
        // Producers send JSON-encoded Avro (see shared/schemas); Pub/Sub rejects anything else.
        schemaSettings: { schema: schema.id, encoding: 'JSON' },
        labels: meshLabels({ 'mesh-topic': labelValue(topic.name), ...(topic.owner ? { owner: labelValue(topic.owner) } : {}), ...launch.labels }),
      },
      resourceOptions(ctx, schema),
    );
    topics[topic.name] = { spec: topic, schema, topic: pubsubTopic };
  }
  return topics;
}
