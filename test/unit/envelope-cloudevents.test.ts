/**
 * CloudEvents conformance of the envelope: dataschema (and the deprecated ce-schemaversion), W3C
 * trace context, extension attributes, as the binding writes and reads them and as the publisher
 * checks them before anything is sent.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { context, ROOT_CONTEXT, trace, TraceFlags, type Context, type ContextManager } from '@opentelemetry/api';
import {
  ATTR,
  createEvent,
  dataSchemaUri,
  EnvelopeError,
  extensionsProblem,
  fromPubsubMessage,
  parseDataSchema,
  parseTraceparent,
  SCHEMAVERSION_ACCEPTED_UNTIL,
  toPubsubMessage,
  traceFields,
} from '../../shared/envelope';
import { EventRejectedError, MeshPublisher } from '../../shared/publisher';
import { defaultSpec } from '../support/specs';

const spec = defaultSpec();
const publisher = new MeshPublisher({ pubsub: {} as PubSub, spec, source: '//test' });
const order = { orderId: 'o-1', customerId: 'c-1', sequence: 1, amountCents: 100 };
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function problemOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof EnvelopeError) return `${error.problem}: ${error.message}`;
    throw error;
  }
  return 'ok';
}

describe('dataschema', () => {
  it('names topic and revision in a URN and parses it back', () => {
    expect(dataSchemaUri('orders', 'v2')).toBe('urn:event-mesh:schema:orders:v2');
    expect(parseDataSchema('urn:event-mesh:schema:orders:v2')).toEqual({ topic: 'orders', revision: 'v2' });
    expect(parseDataSchema('urn:event-mesh:schema:my.topic~1+x%2:v10')).toEqual({ topic: 'my.topic~1+x%2', revision: 'v10' });
    for (const bad of [
      '',
      'orders:v2',
      'urn:event-mesh:schema:orders',
      'urn:event-mesh:schema::v2',
      'urn:event-mesh:schema:orders:2',
      'URN:other:schema:orders:v2',
    ])
      expect(parseDataSchema(bad)).toBeUndefined();
  });

  it('is what the publisher writes, and the only revision attribute it writes', () => {
    const { event } = publisher.prepare('orders', 'order.created', order, { schemaVersion: 'v1' });
    const message = toPubsubMessage(event);
    expect(message.attributes['ce-dataschema']).toBe('urn:event-mesh:schema:orders:v1');
    expect(message.attributes).not.toHaveProperty('ce-schemaversion');
    const back = fromPubsubMessage(message);
    expect(back).toMatchObject({ schemaVersion: 'v1', dataschema: 'urn:event-mesh:schema:orders:v1' });
  });

  it(`still accepts ce-schemaversion alone for messages published through ${SCHEMAVERSION_ACCEPTED_UNTIL}, and refuses it after`, () => {
    const message = toPubsubMessage(createEvent({ type: 't', source: '//s', schemaVersion: 'v1', data: {} }));
    message.attributes['ce-schemaversion'] = 'v1';
    const at = (iso: string) => ({ ...message, publishTime: new Date(iso) });
    expect(fromPubsubMessage(at('2026-12-01T00:00:00Z')).schemaVersion).toBe('v1');
    expect(fromPubsubMessage(at(`${SCHEMAVERSION_ACCEPTED_UNTIL}T23:59:59.999Z`)).schemaVersion).toBe('v1');
    expect(problemOf(() => fromPubsubMessage(at('2027-07-01T00:00:00Z')))).toMatch(
      /^bad-attribute: ce-schemaversion alone was accepted until 2027-06-30; send ce-dataschema/,
    );
  });

  it('accepts both attributes when they agree, and refuses them when they do not', () => {
    const message = toPubsubMessage(createEvent({ type: 't', source: '//s', topic: 'orders', schemaVersion: 'v2', data: {} }));
    message.attributes['ce-schemaversion'] = 'v2';
    expect(fromPubsubMessage(message).schemaVersion).toBe('v2');
    message.attributes['ce-schemaversion'] = 'v1';
    expect(problemOf(() => fromPubsubMessage(message))).toMatch(
      /^bad-attribute: ce-dataschema names revision v2 but the deprecated ce-schemaversion says "v1"/,
    );
  });
});

describe('trace context', () => {
  it('gives every published event a valid W3C traceparent, a new trace each', () => {
    const a = publisher.prepare('orders', 'order.created', order).event;
    const b = publisher.prepare('orders', 'order.created', order).event;
    expect(a.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(parseTraceparent(a.traceparent)).toBeDefined();
    expect(parseTraceparent(a.traceparent)!.traceId).not.toBe(parseTraceparent(b.traceparent)!.traceId);
    expect(toPubsubMessage(a).attributes['ce-traceparent']).toBe(a.traceparent);
  });

  it("keeps the caller's traceparent and tracestate", () => {
    const { event } = publisher.prepare('orders', 'order.created', order, { traceparent: TRACEPARENT, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' });
    const message = toPubsubMessage(event);
    expect(message.attributes).toMatchObject({ 'ce-traceparent': TRACEPARENT, 'ce-tracestate': 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' });
    expect(fromPubsubMessage(message)).toMatchObject({ traceparent: TRACEPARENT, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' });
  });

  it('continues the active OpenTelemetry span when there is one', () => {
    // What an OpenTelemetry SDK registers; synchronous is enough for prepare().
    let current: Context = ROOT_CONTEXT;
    const manager: ContextManager = {
      active: () => current,
      with: (ctx, fn, thisArg, ...args) => {
        const previous = current;
        current = ctx;
        try {
          return fn.call(thisArg, ...args);
        } finally {
          current = previous;
        }
      },
      bind: (_ctx, target) => target,
      enable: () => manager,
      disable: () => manager,
    };
    context.setGlobalContextManager(manager);
    try {
      const span = trace.wrapSpanContext({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED });
      const event = context.with(trace.setSpan(context.active(), span), () => publisher.prepare('orders', 'order.created', order).event);
      expect(event.traceparent).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    } finally {
      context.disable();
    }
  });

  it.each([
    ['not a traceparent', { traceparent: 'abc' }, 'traceparent'],
    ['an all-zero trace id', { traceparent: '00-00000000000000000000000000000000-b7ad6b7169203331-01' }, 'traceparent'],
    ['an all-zero span id', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01' }, 'traceparent'],
    ['version ff', { traceparent: 'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, 'traceparent'],
    ['upper-case hex', { traceparent: '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01' }, 'traceparent'],
    ['surrounding space', { traceparent: ` ${TRACEPARENT}` }, 'traceparent'],
    ['extra fields on version 00', { traceparent: `${TRACEPARENT}-x` }, 'traceparent'],
    ['a tracestate without traceparent', { tracestate: 'a=b' }, 'tracestate'],
    ['a tracestate with control characters', { traceparent: TRACEPARENT, tracestate: 'a=b\n' }, 'tracestate'],
  ])('refuses %s at the producer', (_what, options, field) => {
    expect(() => publisher.prepare('orders', 'order.created', order, options)).toThrow(EventRejectedError);
    try {
      publisher.prepare('orders', 'order.created', order, options);
    } catch (error) {
      expect((error as EventRejectedError).field).toBe(field);
    }
  });

  it('maps to Cloud Logging trace fields', () => {
    expect(traceFields(TRACEPARENT, 'proj')).toEqual({
      'logging.googleapis.com/trace': 'projects/proj/traces/0af7651916cd43dd8448eb211c80319c',
      'logging.googleapis.com/spanId': 'b7ad6b7169203331',
      'logging.googleapis.com/trace_sampled': true,
    });
  });
});

describe('extension attributes', () => {
  it('travel as ce-<name> and come back as event.extensions', () => {
    const { event } = publisher.prepare('orders', 'order.created', order, {
      extensions: { tenant: 'acme', correlationid: 'c-77', region2: 'eu' },
    });
    const message = toPubsubMessage(event);
    expect(message.attributes).toMatchObject({ 'ce-tenant': 'acme', 'ce-correlationid': 'c-77', 'ce-region2': 'eu' });
    expect(fromPubsubMessage(message).extensions).toEqual({ tenant: 'acme', correlationid: 'c-77', region2: 'eu' });
  });

  it('are collected from any producer: every unknown ce-<name>, but not core, managed or non-CloudEvents names', () => {
    const message = toPubsubMessage(createEvent({ type: 't', source: '//s', topic: 'orders', schemaVersion: 'v2', data: {} }));
    Object.assign(message.attributes, {
      'ce-tenant': 'acme',
      'ce-Bad-Name': 'x',
      'ce-datacontenttype': 'application/json',
      'ce-schemaversion': 'v2',
      mesh_bucket: '07',
    });
    const event = fromPubsubMessage(message);
    expect(event.extensions).toEqual({ tenant: 'acme' });
    expect(fromPubsubMessage(toPubsubMessage(event))).toEqual(event);
  });

  it('are absent when there are none', () => {
    const { event } = publisher.prepare('orders', 'order.created', order);
    expect(fromPubsubMessage(toPubsubMessage(event)).extensions).toBeUndefined();
  });

  it.each([
    ['upper case', { Tenant: 'a' }, /lowercase letters a-z and digits 0-9/],
    ['a dash', { 'my-ext': 'a' }, /lowercase letters a-z and digits 0-9/],
    ['an underscore', { my_ext: 'a' }, /lowercase letters a-z and digits 0-9/],
    ['an empty name', { '': 'a' }, /lowercase letters a-z and digits 0-9/],
    ['a core attribute', { id: 'x' }, /core or mesh-managed/],
    ['dataschema', { dataschema: 'x' }, /core or mesh-managed/],
    ['datacontenttype', { datacontenttype: 'x' }, /core or mesh-managed/],
    ['traceparent', { traceparent: TRACEPARENT }, /core or mesh-managed/],
    ['schemaversion', { schemaversion: 'v1' }, /core or mesh-managed/],
    ['a non-string value', { tenant: 5 }, /must be a string, got number/],
    ['a lone surrogate', { tenant: 'a\ud800' }, /lone UTF-16 surrogate/],
    ['a value over 1024 bytes', { tenant: 'é'.repeat(513) }, /1026 bytes/],
  ])('refuses %s at the producer', (_what, extensions, message) => {
    expect(extensionsProblem(extensions)?.message).toMatch(message);
    expect(() => publisher.prepare('orders', 'order.created', order, { extensions: extensions as Record<string, string> })).toThrow(message);
  });

  it('keeps extensions from shadowing the envelope on the wire', () => {
    const message = toPubsubMessage(createEvent({ type: 't', source: '//s', schemaVersion: 'v2', data: {}, extensions: { tenant: 'acme' } }));
    expect(Object.keys(message.attributes).filter((k) => k.startsWith('ce-'))).toEqual(
      expect.arrayContaining([ATTR.id, ATTR.type, ATTR.source, ATTR.time, ATTR.specversion, 'ce-tenant']),
    );
  });
});
