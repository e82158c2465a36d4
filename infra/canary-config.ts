/**
 * What the stack's `event-mesh:canaries` may say, checked with the spec before anything is created
 * (config.ts configProblems): a push or pull consumer, a share whose filter fits beside the
 * consumer's own, and a Cloud Run service name Cloud Run takes.
 */
import { canarySubscriptionFilter } from '../shared/canary/lifecycle';
import { consumerResources, type MeshSpec } from '../shared/spec';
import type { MeshConfig } from './config';

/** The canary's Cloud Run service: one per consumer, beside the consumer's own service. */
export const canaryServiceName = (consumer: string) => consumerResources({ name: consumer }).canarySubscription;

/**
 * Cloud Run refuses names over 63 characters ("Maximum length is 63 characters", its field violation on
 * metadata.name), and the deterministic URL the push endpoint and audience use (services.ts
 * deterministicUri) puts `<name>-<project number>` in one DNS label of at most 63 (RFC 1035); project
 * numbers have 12 digits, which leaves 50.
 */
const MAX_SERVICE_NAME = 50;

export function canaryProblems(config: Pick<MeshConfig, 'canaries'>, spec: MeshSpec): string[] {
  const problems: string[] = [];
  for (const [name, canary] of Object.entries(config.canaries)) {
    const consumer = spec.consumers[name];
    const at = `event-mesh:canaries.${name}`;
    if (!consumer) problems.push(`${at}: unknown consumer (consumers: ${Object.keys(spec.consumers).join(', ')})`);
    else if (consumer.delivery === 'bigquery') problems.push(`${at}: ${name} is a BigQuery subscription, with no service to try a build of`);
    else {
      try {
        canarySubscriptionFilter(consumer, canary.share);
      } catch (error) {
        problems.push(`${at}.share: ${(error as Error).message}`);
      }
      if (canaryServiceName(name).length > MAX_SERVICE_NAME)
        problems.push(
          `${at}: its Cloud Run service ${canaryServiceName(name)} would be longer than ${MAX_SERVICE_NAME} characters (its URL is one DNS label with the project number)`,
        );
    }
  }
  return problems;
}
