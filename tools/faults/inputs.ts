/**
 * What the fault run sends and what it must become, recorded as it goes: valid events (each must be
 * applied once by every consumer of its topic), poison (each must be held once, with a reason, by
 * every consumer it reached) and push bodies that are not deliveries (each must be refused with a
 * 4xx and an error body without a stack trace).
 */
import * as http from 'node:http';
import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { ConsumerSpec, MeshSpec } from '../../shared/spec';
import { consumerResources, pushPath } from '../../shared/spec/names';
import { TrafficGenerator, type Send } from '../load/traffic';
import type { Fuzzer, PushFuzzCase, ValidPayload } from './fuzz';

export interface PoisonExpectation {
  consumer: string;
  /** The message id its held copy names (attribute `messageId`). */
  messageId: string;
  /**
   * Its ce-id, when it has one: a copy Pub/Sub dead-lettered itself (max delivery attempts) names no
   * message id of ours, only the original attributes.
   */
  eventId?: string;
  kind: string;
  source: 'traffic' | 'topic fuzz' | 'redrive fuzz' | 'push fuzz';
  reasons: string[];
}

export interface PushAnswer {
  consumer: string;
  kind: string;
  status: number;
  /** The answer broke a rule: a 5xx, a status the case does not allow, a stack trace in the body. */
  wrong?: string;
}

/** Consumers whose runtime decodes each message (push and pull); BigQuery subscriptions take anything. */
export function decodingConsumers(spec: MeshSpec, topic?: string): ConsumerSpec[] {
  return Object.values(spec.consumers).filter((c) => (c.delivery === 'push' || c.delivery === 'pull') && (!topic || c.topic === topic));
}

export class FaultInputs {
  /** topic -> ids of valid events Pub/Sub accepted. */
  readonly events = new Map<string, Set<string>>();
  /** valid event id -> the message ids of its sends (a duplicate is a second send of the same event). */
  readonly messageIds = new Map<string, string[]>();
  readonly poison: PoisonExpectation[] = [];
  readonly pushAnswers: PushAnswer[] = [];
  counts = { sends: 0, duplicates: 0, trafficPoison: 0, sendFailures: 0, pullFuzz: 0, refusedAtPublish: 0, pushFuzz: 0 };
  readonly refusedAtPublish = new Map<string, number>();
  private readonly payloads: TrafficGenerator;
  private readonly rawTopics = new Map<string, Topic>();

  constructor(
    private readonly spec: MeshSpec,
    private readonly fuzzer: Fuzzer,
    seed: number,
  ) {
    this.payloads = new TrafficGenerator({ duplicates: 0, outOfOrder: 0, poison: 0, raw: 0, orders: 0.4 }, seed ^ 0x5bd1e995);
  }

  /** Records a traffic send's outcome. */
  sent(send: Send, messageId: string | undefined): void {
    if (messageId === undefined) {
      this.counts.sendFailures++;
      return;
    }
    this.counts.sends++;
    if (send.kind === 'poison') {
      this.counts.trafficPoison++;
      const reasons = { 'missing-id': ['missing-attribute'], 'unknown-type': ['unknown-type'], 'bad-time': ['bad-attribute'] }[send.poison!];
      for (const c of decodingConsumers(this.spec, send.topic))
        this.poison.push({ consumer: c.name, messageId, kind: `traffic ${send.poison}`, source: 'traffic', reasons });
      return;
    }
    if (send.kind === 'duplicate') this.counts.duplicates++;
    let ids = this.events.get(send.topic);
    if (!ids) this.events.set(send.topic, (ids = new Set()));
    ids.add(send.id);
    this.messageIds.set(send.id, [...(this.messageIds.get(send.id) ?? []), messageId]);
  }

  /**
   * A payload the topic's schema accepts, its entities renamed to the run's own (fuzz-...): a fuzzed
   * or forged message that were applied by mistake shows on entities no valid event touches.
   */
  payload(topic?: string): ValidPayload {
    for (;;) {
      const send = this.payloads.next();
      if (topic && send.topic !== topic) continue;
      const data = { ...send.data };
      const n = this.fuzzer.nextId();
      for (const field of ['userId', 'postId', 'orderId', 'customerId', 'sessionId']) if (field in data) data[field] = `${field}-${n}`;
      const keyField = this.spec.topics[send.topic].orderingKeyField;
      return { topic: send.topic, type: send.type, data, orderingKey: keyField ? String(data[keyField]) : undefined };
    }
  }

  /**
   * Publishes one fuzzed message: to a topic (every consumer of it gets it), or, with `redrive`, to
   * the redrive topic of every consumer of that topic, as if each had held it and sent it back. The
   * same event reaches every consumer of its topic either way, so parity's hold check can account
   * for it: each consumer holds it.
   */
  async publishFuzz(pubsub: PubSub, into: { topic: string; redrive?: boolean }, hugeBytes: number): Promise<void> {
    const payload = this.payload(into.topic);
    const c = into.redrive ? this.fuzzer.redriveMessage(payload, { hugeBytes }) : this.fuzzer.topicMessage(payload);
    const consumers = decodingConsumers(this.spec, into.topic);
    const targets: [string, ConsumerSpec[]][] = into.redrive
      ? consumers.map((consumer) => [consumerResources(consumer).redriveTopic, [consumer]])
      : [[into.topic, consumers]];
    this.counts.pullFuzz++;
    for (const [topicName, reached] of targets) {
      let topic = this.rawTopics.get(topicName);
      if (!topic) this.rawTopics.set(topicName, (topic = pubsub.topic(topicName, { messageOrdering: true })));
      let messageId: string;
      try {
        messageId = await topic.publishMessage({ data: c.data, attributes: c.attributes, orderingKey: c.orderingKey });
      } catch (error) {
        if (c.orderingKey) topic.resumePublishing(c.orderingKey);
        // The topic's schema (or Pub/Sub's limits) stopped it at the door: nothing reached a consumer.
        this.counts.refusedAtPublish++;
        const why = String((error as Error).message)
          .split('\n')[0]
          .slice(0, 80);
        this.refusedAtPublish.set(why, (this.refusedAtPublish.get(why) ?? 0) + 1);
        continue;
      }
      const source = into.redrive ? 'redrive fuzz' : 'topic fuzz';
      const eventId = c.attributes['ce-id'] || undefined;
      for (const consumer of reached) this.poison.push({ consumer: consumer.name, messageId, eventId, kind: c.kind, source, reasons: c.reasons });
    }
  }

  /** POSTs one fuzzed body to a push consumer, retrying while its service is down (as Pub/Sub would). */
  async postFuzz(baseUrl: string, consumer: ConsumerSpec, sizes: { hugeBytes: number; oversizeBytes: number }): Promise<void> {
    const c: PushFuzzCase = this.fuzzer.pushBody(this.payload(consumer.topic), sizes);
    this.counts.pushFuzz++;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const answer = await post(`${baseUrl}${pushPath(consumer.name)}`, c.headers, c.body);
      // Nobody listening (a kill), or 503 (not ready, or draining): Pub/Sub sends it again later, and so do we.
      if ((answer.status === 0 || answer.status === 503) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      const wrong = answer.status === 0 ? `no answer for 120 s: ${answer.body}` : wrongAnswer(c, answer.status, answer.body);
      this.pushAnswers.push({ consumer: consumer.name, kind: c.kind, status: answer.status, wrong });
      if (c.expect.outcome === 'poison' && answer.status === 204)
        this.poison.push({ consumer: consumer.name, messageId: c.messageId!, kind: c.kind, source: 'push fuzz', reasons: c.expect.reasons });
      return;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.rawTopics.values()].map((t) => t.flush().catch(() => undefined)));
  }
}

/**
 * One POST with node:http: the answer counts even when the server closed the connection before the
 * body was sent whole (it refuses an oversize body on its Content-Length, as it should). Status 0:
 * no answer (the error's message in `body`).
 */
function post(url: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (status: number, text: string) => {
      if (!settled) resolve({ status, body: text });
      settled = true;
    };
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        done(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
        req.destroy();
      });
      res.on('error', () => done(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 60 s')));
    req.on('error', (error) => done(0, error.message));
    if (body.length < 1024 * 1024) return void req.end(body);
    // A large body: headers first. A server that refuses it on its declared length answers before
    // reading it, then closes; writing it all first would lose that answer to the closed socket.
    req.flushHeaders();
    setTimeout(() => {
      if (!settled) req.end(body);
    }, 1000);
  });
}

const STACK = /\n\s+at .+[(:]\d+:\d+\)?/;

function wrongAnswer(c: PushFuzzCase, status: number, body: string): string | undefined {
  if (STACK.test(body)) return `answer ${status} carries a stack trace`;
  if (status >= 500) return `answered ${status}`;
  if (c.expect.outcome === 'refused' && !c.expect.statuses.includes(status)) return `answered ${status}, expected ${c.expect.statuses.join(' or ')}`;
  if (c.expect.outcome === 'poison' && status !== 204) return `answered ${status}, expected 204 (held)`;
  return undefined;
}
