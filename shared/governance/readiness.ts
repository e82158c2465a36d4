/**
 * Consumer readiness for a schema revision, before producers may send it: each consumer of the topic
 * must declare the revision in `reads`, and its real decoder (shared/consumer/decode.ts: envelope,
 * event type, schema read as the topic's current revision) and its service's own event check must
 * take samples of that revision for every event type. The service checks come from the caller
 * (tools/ wires services/*\/event-checks.ts; infra and the policy pack run the decoder alone).
 */
import { createEvent, toPubsubMessage } from '../envelope';
import { createDecoder } from '../consumer/decode';
import type { DecodedEvent } from '../consumer/types';
import { samplePayload, topicSchemas, type SampleVariant } from '../schemas';
import type { ConsumerSpec, MeshSpec } from '../spec/types';
import type { GovernanceIssue } from './issues';

/** A service's own check of a decoded event: throws (a PoisonError) for what the consumer cannot take. */
export type EventCheck = (decoded: DecodedEvent<any>) => void;

/** The check of a consumer, or undefined when its service has none (or the caller cannot load it). */
export type EventCheckFor = (consumer: ConsumerSpec) => EventCheck | undefined;

export interface ConsumerReadiness {
  consumer: string;
  revision: string;
  ready: boolean;
  /** Whether the consumer lists the revision in `reads` (undeclared `reads` counts as every accepted revision). */
  declared: boolean;
  /** Samples run through the decoder and check (0 for a bigquery consumer: Pub/Sub writes raw messages). */
  samples: number;
  problems: string[];
}

const VARIANTS: SampleVariant[] = ['full', 'minimal'];

export function consumerReadiness(spec: MeshSpec, topicName: string, revision: string, checkFor?: EventCheckFor): ConsumerReadiness[] {
  const topic = spec.topics[topicName];
  if (!topic) throw new Error(`unknown topic "${topicName}" (topics: ${Object.keys(spec.topics).join(', ')})`);
  const schemas = topicSchemas(spec, topicName);
  const written = schemas.revisions.find((r) => r.name === revision);
  if (!written) throw new Error(`topic ${topicName} has no revision ${revision} (revisions: ${schemas.revisions.map((r) => r.name).join(', ')})`);
  return Object.values(spec.consumers)
    .filter((c) => c.topic === topicName)
    .map((consumer) => {
      const problems: string[] = [];
      const declared = !consumer.reads || consumer.reads.includes(revision);
      if (!declared) problems.push(`does not declare ${revision} in reads (reads: ${consumer.reads!.join(', ')})`);
      let samples = 0;
      if (consumer.delivery !== 'bigquery') {
        const decode = createDecoder(spec, consumer);
        const check = checkFor?.(consumer);
        for (const type of topic.eventTypes) {
          for (const variant of VARIANTS) {
            const data = samplePayload(written, variant);
            const event = createEvent({ type, source: '//mesh/schema-readiness', data, schemaVersion: revision, topic: topicName, subject: `${type}-sample` });
            const orderingKey = topic.orderingKeyField ? String(data[topic.orderingKeyField] ?? '') : undefined;
            const message = toPubsubMessage(event, orderingKey);
            samples++;
            try {
              const decoded = decode({ ...message, messageId: `readiness-${samples}`, publishTime: new Date() });
              // A minimal sample leaves out what a type may still need (a like's postId defaults to ""):
              // it proves the decoder fills defaults; the service's check judges the full one.
              if (variant === 'full') check?.(decoded);
            } catch (error) {
              problems.push(`refuses a ${variant} ${type} sample of ${revision}: ${(error as Error).message}`);
            }
          }
        }
      }
      return { consumer: consumer.name, revision, ready: problems.length === 0, declared, samples, problems };
    });
}

/** Every revision the topic accepts must find every consumer ready: a publisher cannot go ahead of its readers. */
export function readinessIssues(spec: MeshSpec, topicName: string, checkFor?: EventCheckFor): GovernanceIssue[] {
  const issues: GovernanceIssue[] = [];
  for (const revision of topicSchemas(spec, topicName).accepted) {
    for (const r of consumerReadiness(spec, topicName, revision.name, checkFor)) {
      for (const problem of r.problems)
        issues.push({ rule: 'readiness', topic: topicName, revision: revision.name, message: `consumer ${r.consumer} is not ready: it ${problem}` });
    }
  }
  return issues;
}
