/** Owners in the spec (shared/spec/ownership.ts): parsed channels, undefined names refused, and `mesh validate`'s strict check. */
import { parseSpec } from '../../shared/spec';
import { REPO_TOPICS_YAML } from '../support/specs';

const FILE = `${__dirname}/../../mesh.yaml`;
const specText = (owners: string, consumerOwner: string | undefined, topicOwners = true) => `
version: 1
project: ownership-test
${owners}
${topicOwners ? REPO_TOPICS_YAML.replace('  analytics:\n', '  analytics:\n    owner: growth\n').replace('  orders:\n', '  orders:\n    owner: commerce\n') : REPO_TOPICS_YAML}
services:
  worker: { localPort: 18097 }
consumers:
  worker-orders:
${consumerOwner ? `    owner: ${consumerOwner}\n` : ''}    topic: orders
    delivery: pull
    service: worker
    deadLetter: { maxAttempts: 5, triageSla: 2h }
warehouse: { dataset: test }
`;

const OWNERS = `owners:
  growth: { channels: [{ email: growth@example.com }] }
  commerce:
    description: orders
    channels:
      - email: commerce@example.com
      - pubsub: commerce-alerts
      - channel: projects/p/notificationChannels/123`;

it('parses owners and their channels, the consumer owner and the triage SLA', () => {
  const spec = parseSpec(specText(OWNERS, 'commerce'), FILE);
  expect(spec.owners.commerce).toEqual({
    name: 'commerce',
    description: 'orders',
    channels: [
      { kind: 'email', address: 'commerce@example.com' },
      { kind: 'pubsub', topic: 'commerce-alerts' },
      { kind: 'existing', name: 'projects/p/notificationChannels/123' },
    ],
  });
  expect(spec.consumers['worker-orders']).toMatchObject({ owner: 'commerce', deadLetter: { maxAttempts: 5, triageSlaSeconds: 7200 } });
});

it('refuses an owner that is not defined when owners are, naming where', () => {
  expect(() => parseSpec(specText(OWNERS, 'comerce'), FILE)).toThrow(/consumers\.worker-orders\.owner.*"comerce" is not one of owners \(growth, commerce\)/s);
});

it('refuses an owner without a channel and a channel that is not one', () => {
  expect(() => parseSpec(specText('owners:\n  commerce: { channels: [] }', 'commerce'), FILE)).toThrow(/at least one channel/);
  expect(() => parseSpec(specText('owners:\n  commerce: { channels: [{ slack: "#x" }] }', 'commerce'), FILE)).toThrow(/owners\.commerce\.channels/);
});

it('mesh validate (strict) requires an owner, defined, on every topic and consumer; loadSpec alone does not', () => {
  const lenient = specText('', undefined, false);
  expect(() => parseSpec(specText(OWNERS, 'commerce', false), FILE, { strict: true })).toThrow(/topic analytics has no owner/);
  expect(() => parseSpec(lenient, FILE)).not.toThrow();
  let message = '';
  try {
    parseSpec(lenient, FILE, { strict: true });
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).toMatch(/topic analytics has no owner/);
  expect(message).toMatch(/topic orders has no owner/);
  expect(message).toMatch(/consumer worker-orders has no owner/);
  expect(() => parseSpec(specText(OWNERS, 'commerce'), FILE, { strict: true })).not.toThrow();
});
