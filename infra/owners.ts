/**
 * Owners and how they are reached (spec `owners`, shared/spec/ownership.ts), and where each alert goes.
 *
 * Per owner channel: `email` and `pubsub` become a gcp.monitoring.NotificationChannel; `existing`
 * (Slack, PagerDuty: they need a secret, so they are made once in the console) is used by its name as
 * it is. Every alert policy goes to the channels of the owner of what it watches (a consumer's own, a
 * topic's own, all of them for an alert that spans topics) plus the stack's event-mesh:alertChannels
 * (alertChannelsFor). Something without an owner keeps the stack list only, and the program warns once
 * (unownedWarning): `mesh validate` requires owners, but fixture specs and older specs have none.
 */
import { createHash } from 'node:crypto';
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import type { MeshSpec } from '../shared/spec';
import type { MeshConfig } from './config';
import { labelValue, meshLabels, resourceOptions, type MeshContext } from './context';

/**
 * Cloud Monitoring publishes to a pubsub channel's topic as its notification service agent,
 * service-<project-number>@gcp-sa-monitoring-notification.iam.gserviceaccount.com, which needs Pub/Sub
 * Publisher on that topic; Monitoring creates the agent with the project's first Pub/Sub channel
 * (https://cloud.google.com/monitoring/support/notification-options, "Pub/Sub"). The project number
 * comes from gcp.organizations.getProject, as for the Pub/Sub agent (event-mesh.ts, iam.ts).
 */
export const monitoringNotificationAgentMember = (projectNumber: pulumi.Input<string>) =>
  pulumi.interpolate`serviceAccount:service-${projectNumber}@gcp-sa-monitoring-notification.iam.gserviceaccount.com`;

export interface MeshOwners {
  /** The channels this stack created, per owner (existing ones are not resources of the stack). */
  channels: Record<string, gcp.monitoring.NotificationChannel[]>;
  /** roles/pubsub.publisher for Monitoring's agent, one per topic a pubsub channel names. */
  publisherGrants: gcp.pubsub.TopicIAMMember[];
  /** Full channel names (projects/<p>/notificationChannels/<id>) of an owner, created and existing, in spec order; none for an unknown owner. */
  channelsOf(owner: string | undefined): pulumi.Output<string>[];
}

/** What the alert policies need besides the context: who is reached, per owner. */
export interface AlertingContext extends MeshContext {
  owners: MeshOwners;
}

/** Logical names keyed by the address, not the position: reordering an owner's channels replaces nothing. */
const short = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 8);

/** `meshTopics`: the stack's own topics by name, so a grant on one of them waits for it. */
export function createOwnerChannels(ctx: MeshContext, meshTopics: Record<string, pulumi.Resource> = {}): MeshOwners {
  const { project } = ctx.config;
  const channels: Record<string, gcp.monitoring.NotificationChannel[]> = {};
  const ids: Record<string, pulumi.Output<string>[]> = {};
  /** Pub/Sub channels per topic id: the grant on the topic waits for them (the agent appears with the first). */
  const pubsubChannels = new Map<string, gcp.monitoring.NotificationChannel[]>();

  for (const [key, owner] of Object.entries(ctx.spec.owners)) {
    channels[key] = [];
    ids[key] = owner.channels.map((channel) => {
      if (channel.kind === 'existing') return pulumi.output(channel.name);
      const common = {
        project,
        description: `Event mesh owner ${key}${owner.description ? `: ${owner.description}` : ''}`.slice(0, 1024),
        userLabels: meshLabels({ 'mesh-owner': labelValue(key) }),
      };
      // Types and labels of the channel descriptors `email` (email_address) and `pubsub` (topic, the
      // full topic name): https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.notificationChannelDescriptors/list
      const created =
        channel.kind === 'email'
          ? new gcp.monitoring.NotificationChannel(
              `owner-${key}-email-${short(channel.address)}`,
              { ...common, displayName: `Event mesh: ${key} (${channel.address})`, type: 'email', labels: { email_address: channel.address } },
              resourceOptions(ctx),
            )
          : new gcp.monitoring.NotificationChannel(
              `owner-${key}-pubsub-${channel.topic}`,
              {
                ...common,
                displayName: `Event mesh: ${key} (Pub/Sub ${channel.topic})`,
                type: 'pubsub',
                labels: { topic: `projects/${project}/topics/${channel.topic}` },
              },
              resourceOptions(ctx, ...(meshTopics[channel.topic] ? [meshTopics[channel.topic]] : [])),
            );
      if (channel.kind === 'pubsub') pubsubChannels.set(channel.topic, [...(pubsubChannels.get(channel.topic) ?? []), created]);
      channels[key].push(created);
      return created.name;
    });
  }

  const agent = monitoringNotificationAgentMember(ctx.projectNumber);
  const publisherGrants = [...pubsubChannels].map(
    ([topic, waitFor]) =>
      // By the topic's name: it may be outside the mesh (any topic of the project).
      new gcp.pubsub.TopicIAMMember(
        `monitoring-notifier-pubsub-publisher-${topic}`,
        { project, topic, role: 'roles/pubsub.publisher', member: agent },
        resourceOptions(ctx, ...waitFor, ...(meshTopics[topic] ? [meshTopics[topic]] : [])),
      ),
  );

  return { channels, publisherGrants, channelsOf: (owner) => (owner ? (ids[owner] ?? []) : []) };
}

/**
 * Where an alert goes: the channels of these owners (undefined: no owner) and the stack's list, each
 * once (an owner may name a channel that is in the stack list too).
 */
export function alertChannelsFor(ctx: AlertingContext, owners: readonly (string | undefined)[]): pulumi.Output<string[]> {
  const ownerChannels = [...new Set(owners)].flatMap((owner) => ctx.owners.channelsOf(owner));
  return pulumi.all([...ownerChannels, ...ctx.config.alertChannels]).apply((names) => [...new Set(names)]);
}

/** The owners of the topics an alert spans, in spec order. */
export const topicOwners = (spec: MeshSpec, topics: Iterable<string>): (string | undefined)[] => {
  const wanted = new Set(topics);
  return Object.values(spec.topics)
    .filter((t) => wanted.has(t.name))
    .map((t) => t.owner);
};

/**
 * One line naming the topics and consumers whose alerts reach no owner (no owner, or one `owners`
 * does not define), or undefined when there are none.
 */
export function unownedWarning(spec: MeshSpec, config: Pick<MeshConfig, 'alertChannels'>): string | undefined {
  const owned = (owner: string | undefined) => Boolean(owner && spec.owners[owner]);
  const topics = Object.values(spec.topics).filter((t) => !owned(t.owner));
  const consumers = Object.values(spec.consumers).filter((c) => !owned(c.owner));
  if (!topics.length && !consumers.length) return undefined;
  const what = [
    topics.length ? `topic${topics.length === 1 ? '' : 's'} ${topics.map((t) => t.name).join(', ')}` : '',
    consumers.length ? `consumer${consumers.length === 1 ? '' : 's'} ${consumers.map((c) => c.name).join(', ')}` : '',
  ].filter(Boolean);
  const where = config.alertChannels.length
    ? `their alerts go only to event-mesh:alertChannels (${config.alertChannels.length} channel${config.alertChannels.length === 1 ? '' : 's'})`
    : 'their alerts reach nobody: event-mesh:alertChannels is empty too';
  return `no owner for ${what.join(' and ')}: ${where}. Name an owner of each in the spec (\`npm run mesh -- validate\` lists them).`;
}
