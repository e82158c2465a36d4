/**
 * The launch checklist of the seeds ("Launch Readiness Checklist for New Event Flows"), per topic and
 * per consumer of the spec: on-call ownership assigned, compatibility rules documented, lag and
 * dead-letter alerts routed, runbooks present, replay tested, RTO/RPO agreed. Pure: the spec and the
 * facts found elsewhere (repo-facts.ts reads the repository, tools/readiness reads the warehouse's
 * replay audit) go in, items come out, so every rule is unit-tested on fixture specs.
 */
import { CONSUMER_ALERT_RUNBOOKS, runbookPath, type RunbookKind } from '../operations/runbooks';
import { formatDuration } from '../spec/duration';
import type { ConsumerSpec, MeshSpec, OwnerChannel, TopicSpec } from '../spec/types';

/** What each item checks; `subject` says whether it is asked of a topic or of a consumer. */
export const CHECKLIST_ITEMS = {
  owner: { subject: 'both', title: 'on-call owner assigned' },
  'compatibility-documented': { subject: 'topic', title: 'compatibility rules documented' },
  'alerts-routed': { subject: 'consumer', title: 'lag and dead-letter alerts routed' },
  runbooks: { subject: 'consumer', title: 'runbooks present' },
  'replay-tested': { subject: 'consumer', title: 'replay tested' },
  recovery: { subject: 'consumer', title: 'RTO/RPO declared' },
} as const;
export type ChecklistItemId = keyof typeof CHECKLIST_ITEMS;

/**
 * The items known from the spec and the repository alone: what the policy pack can require at
 * `pulumi preview`. Replay tested needs the deployed warehouse (infra/launch-readiness.ts says why).
 */
export const SPEC_AND_REPO_ITEMS: readonly ChecklistItemId[] = ['owner', 'compatibility-documented', 'alerts-routed', 'runbooks', 'recovery'];

export interface ChecklistItem {
  id: ChecklistItemId;
  ok: boolean;
  /** What was found, in a line. */
  detail: string;
  /** How to make it pass; empty when it passes. */
  fix: string;
  /** Set when the fact could not be found (the warehouse did not answer): not ok, but not known missing either. */
  unknown?: boolean;
}

/** A runbook as found in the repository: `current` matches a fresh render from the spec, `present` was not compared. */
export type RunbookState = 'current' | 'stale' | 'present';

/** A completed replay to a consumer, from the warehouse's replay_audit. */
export interface ReplayEvidence {
  replayId: string;
  recordedAt: string;
  sent: number;
}

/** The replay audit as read, or why it could not be. */
export type ReplayFacts = { known: true; completed: Record<string, ReplayEvidence | undefined> } | { known: false; reason: string };

export interface ReadinessFacts {
  /** Per topic: whether the spec document writes `compatibility` itself (not left to the default). */
  compatibilityStated: Record<string, boolean>;
  /** Whether docs/schemas.md exists: what the modes and the deprecation window mean, and how a revision is approved. */
  schemaGuide: boolean;
  /** Per runbook kind, as found; a kind missing here has no file. */
  runbooks: Partial<Record<RunbookKind, RunbookState>>;
  /** Undefined: not looked for (the policy pack, which cannot reach the warehouse). */
  replays?: ReplayFacts;
}

export interface TopicReadiness {
  topic: string;
  impact: TopicSpec['impact'];
  items: ChecklistItem[];
  consumers: ConsumerReadiness[];
}

export interface ConsumerReadiness {
  consumer: string;
  items: ChecklistItem[];
}

const mesh = (args: string) => `npm run mesh -- ${args}`;
const pass = (id: ChecklistItemId, detail: string): ChecklistItem => ({ id, ok: true, detail, fix: '' });
const fail = (id: ChecklistItemId, detail: string, fix: string): ChecklistItem => ({ id, ok: false, detail, fix });

/** formatDuration writes 0 as "0d"; an RPO of nothing lost reads better as 0s. */
const span = (seconds: number) => (seconds === 0 ? '0s' : formatDuration(seconds));
const channelText = (c: OwnerChannel) => (c.kind === 'email' ? c.address : c.kind === 'pubsub' ? `Pub/Sub ${c.topic}` : c.name);

/**
 * On-call ownership: an owner named and defined under `owners` with a channel to reach it. A
 * channel is what makes an owner on call: without one its alerts and triage pages reach nobody.
 */
function ownerItem(spec: MeshSpec, owner: string | undefined, at: string): ChecklistItem {
  if (!owner) {
    const owners = Object.keys(spec.owners);
    const fix = owners.length
      ? `name one of owners (${owners.join(', ')}) in ${at}.owner`
      : `define an owner with a channel under owners and name it in ${at}.owner`;
    return fail('owner', 'no owner', fix);
  }
  const defined = spec.owners[owner];
  if (!defined) return fail('owner', `owner "${owner}" is not defined`, `define owners.${owner} with the channels that reach it`);
  if (!defined.channels.length) return fail('owner', `owner "${owner}" has no channel`, `add a channel (email, pubsub or channel) to owners.${owner}.channels`);
  return pass('owner', `${owner} (${defined.channels.map(channelText).join(', ')})`);
}

/**
 * Documented = the spec states the mode itself (a reader of mesh.yaml sees the rule without knowing
 * the loader's default, and changing it is a reviewed line) AND docs/schemas.md exists (what each
 * mode and the deprecation window mean for producers and consumers). Either alone leaves a
 * producer team guessing; the mode always has a value, so "set" alone would always pass.
 */
function compatibilityItem(topic: TopicSpec, facts: ReadinessFacts): ChecklistItem {
  const window = formatDuration(topic.schema.deprecationWindowSeconds);
  const stated = facts.compatibilityStated[topic.name] ?? false;
  const missing = [
    ...(stated ? [] : [`the spec leaves compatibility to its default (${topic.schema.compatibility})`]),
    ...(facts.schemaGuide ? [] : ['docs/schemas.md is missing']),
  ];
  if (!missing.length) return pass('compatibility-documented', `${topic.schema.compatibility}, deprecation window ${window}; docs/schemas.md`);
  const fixes = [
    ...(stated ? [] : [`write topics.${topic.name}.compatibility (e.g. compatibility: ${topic.schema.compatibility}) in the spec`]),
    ...(facts.schemaGuide ? [] : ['add docs/schemas.md (the compatibility modes and the deprecation window)']),
  ];
  return fail('compatibility-documented', missing.join('; '), fixes.join('; '));
}

/**
 * Routed = the consumer's owner has a channel: infra sends every alert of a consumer (lag, dead
 * letters, buffer: infra/monitoring.ts, buffer-alerts.ts, triage-alerts.ts) to its own owner's
 * channels (infra/owners.ts alertChannelsFor), not its topic's. The stack's event-mesh:alertChannels
 * also get them, but a shared list is nobody's page.
 */
function alertsItem(spec: MeshSpec, consumer: ConsumerSpec): ChecklistItem {
  const alerts = `lag (oldest unacked > ${formatDuration(consumer.lagSlo.oldestUnackedSeconds)}, backlog > ${consumer.lagSlo.backlog}), dead letters, buffer`;
  const owner = consumer.owner ? spec.owners[consumer.owner] : undefined;
  if (owner?.channels.length) return pass('alerts-routed', `${alerts} -> ${owner.name}`);
  return fail(
    'alerts-routed',
    `${alerts} reach no owner's channel${consumer.owner && !owner ? ` (owner "${consumer.owner}" is not defined)` : ''}`,
    `give consumers.${consumer.name}.owner an owner with a channel; pulumi up routes its alerts there`,
  );
}

/** Every alert kind the consumer has names a runbook; each must be in the repository and say what the spec says. */
function runbooksItem(facts: ReadinessFacts): ChecklistItem {
  // Every consumer has the same alert kinds today, whatever its delivery (CONSUMER_ALERT_RUNBOOKS).
  const missing = CONSUMER_ALERT_RUNBOOKS.filter((kind) => !facts.runbooks[kind]);
  const stale = CONSUMER_ALERT_RUNBOOKS.filter((kind) => facts.runbooks[kind] === 'stale');
  if (!missing.length && !stale.length) return pass('runbooks', CONSUMER_ALERT_RUNBOOKS.map(runbookPath).join(', '));
  const problems = [
    ...(missing.length ? [`missing: ${missing.map(runbookPath).join(', ')}`] : []),
    ...(stale.length ? [`differ from the spec: ${stale.map(runbookPath).join(', ')}`] : []),
  ];
  return fail('runbooks', problems.join('; '), `run ${mesh('runbooks')} and commit docs/runbooks/`);
}

/**
 * Tested = at least one replay to this consumer completed with events sent (replay_audit): the
 * seeds' "replay and rollback runbooks tested". A completed replay of nothing proves the command
 * ran, not that the consumer takes a replay, so it does not count.
 */
function replayItem(consumer: ConsumerSpec, facts: ReadinessFacts): ChecklistItem {
  const fix = `replay a bounded window to it and let it complete: ${mesh(`replay request --consumer ${consumer.name} --from T1 --to T2 --owner NAME --intent "launch readiness: replay test"`)}`;
  if (!facts.replays) return { ...fail('replay-tested', 'unknown (the replay audit was not read)', fix), unknown: true };
  if (!facts.replays.known) return { ...fail('replay-tested', `unknown (${facts.replays.reason})`, fix), unknown: true };
  const evidence = facts.replays.completed[consumer.name];
  if (!evidence) return fail('replay-tested', 'no completed replay with events sent in replay_audit', fix);
  return pass('replay-tested', `${evidence.replayId} completed ${evidence.recordedAt} (${evidence.sent} sent)`);
}

function recoveryItem(consumer: ConsumerSpec): ChecklistItem {
  if (!consumer.recovery)
    return fail(
      'recovery',
      'no recovery objectives',
      `declare consumers.${consumer.name}.recovery: { rto: 30m, rpo: 0s } (agreed with its owner and the business)`,
    );
  return pass('recovery', `RTO ${span(consumer.recovery.rtoSeconds)}, RPO ${span(consumer.recovery.rpoSeconds)}`);
}

export function consumerChecklist(spec: MeshSpec, consumer: ConsumerSpec, facts: ReadinessFacts): ChecklistItem[] {
  return [
    ownerItem(spec, consumer.owner, `consumers.${consumer.name}`),
    alertsItem(spec, consumer),
    runbooksItem(facts),
    replayItem(consumer, facts),
    recoveryItem(consumer),
  ];
}

export function topicChecklist(spec: MeshSpec, topic: TopicSpec, facts: ReadinessFacts): ChecklistItem[] {
  return [ownerItem(spec, topic.owner, `topics.${topic.name}`), compatibilityItem(topic, facts)];
}

/** The checklist of every topic (or only `only`), each with its consumers, in spec order. */
export function launchChecklist(spec: MeshSpec, facts: ReadinessFacts, only?: string): TopicReadiness[] {
  return Object.values(spec.topics)
    .filter((t) => !only || t.name === only)
    .map((topic) => ({
      topic: topic.name,
      impact: topic.impact,
      items: topicChecklist(spec, topic, facts),
      consumers: Object.values(spec.consumers)
        .filter((c) => c.topic === topic.name)
        .map((c) => ({ consumer: c.name, items: consumerChecklist(spec, c, facts) })),
    }));
}

/** Every item of a topic's checklist that is not ok, with whose it is (the topic's or a consumer's). */
export function missingItems(topic: TopicReadiness, ids: readonly ChecklistItemId[] = Object.keys(CHECKLIST_ITEMS) as ChecklistItemId[]) {
  return [
    ...topic.items.map((item) => ({ subject: `topic ${topic.topic}`, item })),
    ...topic.consumers.flatMap((c) => c.items.map((item) => ({ subject: `consumer ${c.consumer}`, item }))),
  ].filter(({ item }) => !item.ok && ids.includes(item.id));
}
