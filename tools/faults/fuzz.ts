/**
 * The fault suite's bad input, as pure seeded generators (no I/O): each case says what the mesh must
 * make of it, so the run can check the outcome instead of only surviving it.
 *
 * - Push bodies, POSTed to a push consumer's endpoint as if Pub/Sub pushed them. A body that is not
 *   a delivery at all (random bytes, wrong shapes, the wrong content type, too large) must be
 *   answered 4xx and changes nothing: there is no message to hold. A delivery whose message can
 *   never succeed must be answered 204 and held once in that consumer's dead-letter hold, with a
 *   reason.
 * - Pull messages, published with the plain client. On a topic (its schema accepts only valid
 *   payloads, so these keep a valid payload and break the CloudEvents attributes) they reach every
 *   consumer of the topic; on a consumer's redrive topic (no schema, as a redrive carries whatever
 *   was held) they reach that consumer only, so payloads can be broken too: random bytes, wrong
 *   types, 100 000-deep nesting, a few MB, lone surrogates.
 *
 * Every case is poison for every consumer it reaches, whatever the consumer does with valid events:
 * a case some consumer could accept would change its sink and nothing could judge it.
 */
import { randomBytes } from 'node:crypto';
import { prng } from '../load/traffic';

export type PushExpectation = { outcome: 'refused'; statuses: number[] } | { outcome: 'poison'; reasons: string[] };

export interface PushFuzzCase {
  kind: string;
  body: Buffer;
  headers: Record<string, string>;
  expect: PushExpectation;
  /** The delivery's message id (poison cases): its held copy names it. */
  messageId?: string;
}

export interface PullFuzzCase {
  kind: string;
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey?: string;
  /** Reasons the consumer may give (any consumer it reaches). */
  reasons: string[];
}

/** A payload the topic's schema accepts, and its ordering key (orders). */
export interface ValidPayload {
  topic: string;
  type: string;
  data: Record<string, unknown>;
  orderingKey?: string;
}

const LONE = '\ud800';
/**
 * The subscription fuzzed push deliveries name: their held copies carry it as `sourceSubscription`.
 * They never came through a topic, so only the consumer posted to holds them (parity leaves them out).
 */
export const FUZZ_PUSH_SUBSCRIPTION = 'projects/mesh-faults/subscriptions/fuzzed-push';
const JSON_HEADERS = { 'content-type': 'application/json' };

export class Fuzzer {
  private readonly random: () => number;
  private counter = 0;

  constructor(
    seed: number,
    /** Tags every id the run makes (`fuzz-<run>-<n>`), so its traces are found and told apart. */
    readonly runId: string,
  ) {
    this.random = prng(seed);
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  nextId(): string {
    return `fuzz-${this.runId}-${++this.counter}`;
  }

  /** Valid CloudEvents attributes for `payload`, under a fresh id. */
  validAttributes(payload: ValidPayload): Record<string, string> {
    return {
      'ce-id': this.nextId(),
      'ce-type': payload.type,
      'ce-source': '//mesh/faults',
      'ce-specversion': '1.0',
      'ce-time': new Date(Date.now() - 3600_000).toISOString(),
      'content-type': 'application/json',
    };
  }

  /**
   * Valid attributes with one broken: [case kind, attributes, reasons]. `lone`: lone surrogates too,
   * which only a push body (JSON) can carry: Pub/Sub's API takes attributes as protobuf strings
   * (UTF-8), and the emulator leaves a publish holding one unanswered until the client gives up.
   */
  brokenAttributes(payload: ValidPayload, lone: boolean): [string, Record<string, string>, string[]] {
    const a = this.validAttributes(payload);
    const missing = (name: string): [string, Record<string, string>, string[]] => {
      delete a[name];
      return [`${name} missing`, a, ['missing-attribute']];
    };
    const set = (name: string, value: string, reasons: string[]): [string, Record<string, string>, string[]] => {
      a[name] = value;
      return [`${name} ${JSON.stringify(value).slice(0, 24)}`, a, reasons];
    };
    const variants: (() => [string, Record<string, string>, string[]])[] = [
      () => missing('ce-id'),
      () => set('ce-id', '', ['missing-attribute']),
      ...(lone ? [() => set('ce-id', `${this.nextId()}${LONE}`, ['bad-encoding'])] : []),
      () => missing('ce-type'),
      () => set('ce-type', `${payload.type}.bogus`, ['unknown-type']),
      ...(lone ? [() => set('ce-type', `x${LONE}`, ['bad-encoding'])] : []),
      () => missing('ce-source'),
      ...(lone ? [() => set('ce-source', `//x${LONE}`, ['bad-encoding'])] : []),
      () => missing('ce-specversion'),
      () => set('ce-specversion', this.pick(['0.3', '2.0', '1']), ['unsupported-specversion']),
      () => set('ce-time', this.pick(['1', 'Tue, 01 Nov 2022 10:00:00 GMT', '2024-02-30T00:00:00Z', 'yesterday', '2024-05-01 13:45', '']), ['bad-attribute']),
      ...(lone ? [() => set('ce-time', `2024-05-01T13:45:00Z${LONE}`, ['bad-encoding'])] : []),
      () => set('ce-time', this.pick(['9999-12-31T23:59:59Z', '0001-01-01T00:00:00Z']), ['time-out-of-range']),
      () => set('content-type', this.pick(['text/plain', 'application/xml', 'image/png']), ['bad-attribute']),
    ];
    return this.pick(variants)();
  }

  /** A payload that can never be an event of the topic: [case kind, data, reasons]. */
  brokenData(payload: ValidPayload, options: { hugeBytes: number }): [string, Buffer, string[]] {
    const variants: (() => [string, Buffer, string[]])[] = [
      () => ['random bytes', randomBytes(1 + Math.floor(this.random() * 512)), ['not-json', 'bad-encoding', 'schema']],
      () => ['not JSON', Buffer.from(`{${'x'.repeat(Math.floor(this.random() * 50))}`), ['not-json']],
      () => ['JSON of the wrong shape', Buffer.from(this.pick(['[]', '"text"', '42', 'null', 'true', '{}'])), ['schema']],
      () => [
        'wrong field types',
        Buffer.from(JSON.stringify(Object.fromEntries(Object.keys(payload.data).map((k) => [k, this.pick([[], {}, true, -1.5])])))),
        ['schema'],
      ],
      () => ['100000-deep nesting', Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), ['too-deep', 'not-json']],
      () => ['deep object', Buffer.from(`${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`), ['too-deep', 'not-json']],
      () => [
        'lone surrogate in a field',
        Buffer.from(JSON.stringify({ ...payload.data, [this.pick(Object.keys(payload.data))]: `x${LONE}` })),
        ['bad-encoding', 'schema'],
      ],
      () => ['a few MB', Buffer.from(JSON.stringify({ filler: 'x'.repeat(options.hugeBytes) })), ['schema']],
    ];
    // A few MB one case in fifty: the Pub/Sub emulator keeps every message in its heap (each held one
    // twice more: the hold and the health tap), and at one in eight a 10 000-input run took it past 17 GB.
    const choice = this.random() < 0.02 ? variants.length - 1 : Math.floor(this.random() * (variants.length - 1));
    return variants[choice]();
  }

  /** A message for a topic: the payload valid, an attribute broken. */
  topicMessage(payload: ValidPayload): PullFuzzCase {
    const [kind, attributes, reasons] = this.brokenAttributes(payload, false);
    return { kind, data: Buffer.from(JSON.stringify(payload.data)), attributes, orderingKey: payload.orderingKey, reasons };
  }

  /** A message for a consumer's redrive topic: valid attributes, a broken payload (one huge in `hugeEvery`). */
  redriveMessage(payload: ValidPayload, options: { hugeBytes: number }): PullFuzzCase {
    const [kind, data, reasons] = this.brokenData(payload, options);
    return { kind, data, attributes: this.validAttributes(payload), orderingKey: payload.orderingKey, reasons };
  }

  /** A push body for a consumer of `payload.topic`: half are not deliveries, half are poison deliveries. */
  pushBody(payload: ValidPayload, options: { hugeBytes: number; oversizeBytes: number }): PushFuzzCase {
    if (this.random() < 0.5) return this.notADelivery(options.oversizeBytes);
    const messageId = this.nextId();
    const wrap = (data: Buffer, attributes: Record<string, string>) =>
      Buffer.from(
        JSON.stringify({
          message: { data: data.toString('base64'), attributes, messageId, publishTime: new Date().toISOString(), orderingKey: payload.orderingKey },
          subscription: FUZZ_PUSH_SUBSCRIPTION,
          deliveryAttempt: 1,
        }),
      );
    if (this.random() < 0.5) {
      const [kind, attributes, reasons] = this.brokenAttributes(payload, true);
      return {
        kind: `delivery: ${kind}`,
        body: wrap(Buffer.from(JSON.stringify(payload.data)), attributes),
        headers: JSON_HEADERS,
        expect: { outcome: 'poison', reasons },
        messageId,
      };
    }
    const [kind, data, reasons] = this.brokenData(payload, options);
    return {
      kind: `delivery: ${kind}`,
      body: wrap(data, this.validAttributes(payload)),
      headers: JSON_HEADERS,
      expect: { outcome: 'poison', reasons },
      messageId,
    };
  }

  private notADelivery(oversizeBytes: number): PushFuzzCase {
    const refused = (kind: string, body: Buffer | string, statuses: number[], headers: Record<string, string> = JSON_HEADERS): PushFuzzCase => ({
      kind,
      body: Buffer.isBuffer(body) ? body : Buffer.from(body),
      headers,
      expect: { outcome: 'refused', statuses },
    });
    const variants: (() => PushFuzzCase)[] = [
      () => refused('random bytes', randomBytes(1 + Math.floor(this.random() * 2048)), [400]),
      () => refused('not JSON', `message=${this.nextId()}`, [400]),
      () => refused('JSON without a message', this.pick(['[]', '"x"', '42', 'null', '{}', '{"message":"x"}', '{"message":[]}']), [400]),
      () => refused('message without messageId', JSON.stringify({ message: { data: 'e30=', attributes: {} } }), [400]),
      () => refused('data not a string', JSON.stringify({ message: { messageId: this.nextId(), data: this.pick([5, {}, [], true]) } }), [400]),
      () =>
        refused(
          'attribute not a string',
          JSON.stringify({ message: { messageId: this.nextId(), data: 'e30=', attributes: { 'ce-id': this.pick([5, {}, null, false]) } } }),
          [400],
        ),
      () =>
        refused(
          'attributes not an object',
          JSON.stringify({ message: { messageId: this.nextId(), data: 'e30=', attributes: this.pick(['x', 5, []]) } }),
          [400],
        ),
      () => refused('wrong content type', '{}', [415], { 'content-type': this.pick(['text/plain', 'application/xml', 'multipart/form-data']) }),
      () => refused('no content type', '{}', [415], {}),
      () => refused('100000-deep body', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, [400]),
      () => refused('empty no-wrapper message id', 'x', [400], { 'x-goog-pubsub-message-id': '' }),
      () => refused('too large', Buffer.alloc(oversizeBytes, 0x20), [413]),
    ];
    // The oversize body is costly to send: one in fifty.
    const choice = this.random() < 0.02 ? variants.length - 1 : Math.floor(this.random() * (variants.length - 1));
    return variants[choice]();
  }
}
