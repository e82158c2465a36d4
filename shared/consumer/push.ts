/**
 * Push delivery: parsing Pub/Sub push requests into IncomingMessages, and the lean node:http
 * listener that serves pushPath(consumer) in front of the service's express app.
 *
 * Two body forms are accepted on the same path:
 * - wrapped (default): `application/json` `{"message": {"data": "<base64>", "attributes", "messageId",
 *   "publishTime", "orderingKey"}, "subscription", "deliveryAttempt"}` (snake_case twins accepted);
 * - no-wrapper with `writeMetadata`: the body is the raw data, metadata come as `x-goog-pubsub-*`
 *   headers and each attribute as its own header. The emulator labels these bodies
 *   `application/x-www-form-urlencoded` although they are the raw bytes, so the content type is ignored.
 *
 * Status codes: 204 when the event is done, a known duplicate or dead-lettered (all acks for
 * Pub/Sub); 500 on a transient failure (Pub/Sub retries with backoff); 503 while shutting down;
 * 4xx for requests that are not Pub/Sub deliveries (405 method, 415 content type, 400 body, 401/403
 * token, 404 unknown consumer, 413 too large).
 *
 * Why not express for this: express 5's router costs ~7x the throughput of bare node:http on this
 * path (docs/consumers.md has the bench); the listener below does one Map lookup per request.
 */
import type * as http from 'node:http';
import type { IncomingMessage } from '../envelope';
import { pushTokenHeader, type PushVerifier } from './auth';
import { PushRequestError } from './errors';
import type { Logger } from './logger';
import type { Pipeline } from './pipeline';

/** Pub/Sub messages are at most 10 MB; base64 in the wrapped form makes that 13.4 MB, plus attributes. */
export const DEFAULT_MAX_PUSH_BODY_BYTES = 14 * 1024 * 1024;

/** Every push path starts with this (see pushPath in shared/spec/names.ts). */
export const PUSH_PREFIX = '/pubsub/push/';

export type PushForm = 'wrapped' | 'no-wrapper';

export interface ParsedPush {
  message: IncomingMessage;
  /** Subscription path the request names, when it does. */
  subscription?: string;
  form: PushForm;
}

const EMPTY = Buffer.alloc(0);
const META_PREFIX = 'x-goog-pubsub-';
/** Headers that are transport, not message attributes, in the no-wrapper form. */
const TRANSPORT_HEADERS = new Set([
  'accept',
  'accept-encoding',
  'accept-language',
  'authorization',
  'cache-control',
  'connection',
  'content-encoding',
  'content-length',
  'content-type',
  'expect',
  'forwarded',
  'from',
  'host',
  'keep-alive',
  'pragma',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'via',
  'x-serverless-authorization',
]);
const TRANSPORT_PREFIXES = ['x-goog-', 'x-forwarded-', 'x-cloud-', 'x-appengine-', 'x-envoy-'];

/** Parses a push request body + headers; throws PushRequestError (400/415) when it is not a delivery. */
export function parsePushRequest(body: Buffer, headers: http.IncomingHttpHeaders, rawHeaders?: string[]): ParsedPush {
  if (headers[`${META_PREFIX}message-id`] !== undefined) return parseNoWrapper(body, headers, rawHeaders);
  const contentType = headers['content-type'];
  if (!contentType || !/^application\/json\b/i.test(contentType)) {
    throw new PushRequestError(
      415,
      `content type ${contentType ? `"${contentType}"` : '(none)'} is neither a wrapped push (application/json) nor a no-wrapper push (x-goog-pubsub-message-id header)`,
    );
  }
  return parseWrapped(body);
}

/** The default push form. */
export function parseWrapped(body: Buffer): ParsedPush {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new PushRequestError(400, `body is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed) || !isObject(parsed.message)) throw new PushRequestError(400, 'body has no "message" object: not a Pub/Sub push delivery');
  const m = parsed.message;
  const messageId = m.messageId ?? m.message_id;
  if (typeof messageId !== 'string' || !messageId) throw new PushRequestError(400, 'message has no messageId: not a Pub/Sub push delivery');
  let data = EMPTY;
  if (typeof m.data === 'string') data = Buffer.from(m.data, 'base64');
  else if (m.data !== undefined && m.data !== null) throw new PushRequestError(400, 'message.data must be a base64 string');
  let attributes: Record<string, string> = {};
  if (isObject(m.attributes)) {
    for (const key in m.attributes) {
      if (typeof m.attributes[key] !== 'string') throw new PushRequestError(400, `attribute "${key}" is not a string`);
    }
    attributes = m.attributes as Record<string, string>;
  } else if (m.attributes !== undefined && m.attributes !== null) throw new PushRequestError(400, 'message.attributes must be an object');
  const orderingKey = m.orderingKey ?? m.ordering_key;
  const deliveryAttempt = parsed.deliveryAttempt ?? parsed.delivery_attempt;
  return {
    message: {
      data,
      attributes,
      messageId,
      publishTime: toDate(m.publishTime ?? m.publish_time),
      orderingKey: typeof orderingKey === 'string' && orderingKey ? orderingKey : undefined,
      deliveryAttempt: typeof deliveryAttempt === 'number' && deliveryAttempt > 0 ? deliveryAttempt : undefined,
    },
    subscription: typeof parsed.subscription === 'string' ? parsed.subscription : undefined,
    form: 'wrapped',
  };
}

/**
 * The wrapped body Pub/Sub push sends for `message` (the inverse of parseWrapped), with both spellings
 * of the ids as GCP sends them; deliveryAttempt only when known (a dead-letter policy is set).
 */
export function wrapPushBody(message: IncomingMessage, subscription: string): string {
  const publishTime = (message.publishTime ?? new Date()).toISOString();
  return JSON.stringify({
    message: {
      data: message.data.toString('base64'),
      attributes: message.attributes,
      messageId: message.messageId,
      message_id: message.messageId,
      publishTime,
      publish_time: publishTime,
      ...(message.orderingKey ? { orderingKey: message.orderingKey } : {}),
    },
    subscription,
    ...(message.deliveryAttempt ? { deliveryAttempt: message.deliveryAttempt } : {}),
  });
}

/** The no-wrapper form with writeMetadata: body = data, attributes = the non-transport headers (original case kept from rawHeaders). */
export function parseNoWrapper(body: Buffer, headers: http.IncomingHttpHeaders, rawHeaders?: string[]): ParsedPush {
  const messageId = single(headers[`${META_PREFIX}message-id`]);
  if (!messageId) throw new PushRequestError(400, 'x-goog-pubsub-message-id is empty: not a Pub/Sub push delivery');
  const attributes: Record<string, string> = {};
  const add = (name: string, value: string) => {
    const lower = name.toLowerCase();
    if (TRANSPORT_HEADERS.has(lower) || TRANSPORT_PREFIXES.some((p) => lower.startsWith(p))) return;
    attributes[name] = value;
  };
  if (rawHeaders) for (let i = 0; i + 1 < rawHeaders.length; i += 2) add(rawHeaders[i], rawHeaders[i + 1]);
  else for (const [name, value] of Object.entries(headers)) if (value !== undefined) add(name, single(value) ?? '');
  const orderingKey = single(headers[`${META_PREFIX}ordering-key`]);
  const deliveryAttempt = Number(single(headers[`${META_PREFIX}delivery-attempt`]));
  return {
    message: {
      data: body,
      attributes,
      messageId,
      publishTime: toDate(single(headers[`${META_PREFIX}publish-time`])),
      orderingKey: orderingKey || undefined,
      deliveryAttempt: deliveryAttempt > 0 ? deliveryAttempt : undefined,
    },
    subscription: single(headers[`${META_PREFIX}subscription-name`]),
    form: 'no-wrapper',
  };
}

export interface PushRoute {
  consumer: string;
  /** pushPath(consumer). */
  path: string;
  /** Subscription id to name in dead-letter attributes when the request does not say. */
  subscription: string;
  pipeline: Pipeline;
}

export interface PushListenerOptions {
  routes: PushRoute[];
  log: Logger;
  /** Verifies the OIDC token of each request; undefined = verification off (emulator only). */
  verifier?: PushVerifier;
  /** Default DEFAULT_MAX_PUSH_BODY_BYTES (14 MiB). Larger bodies get 413. */
  maxBodyBytes?: number;
  /** While true, new deliveries get 503 and every response closes its connection. */
  isDraining?: () => boolean;
}

/** Takes the request and returns true when it is on a push path; returns false to let the caller (express) have it. */
export type PushListener = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

export function createPushListener(options: PushListenerOptions): PushListener {
  const routes = new Map(options.routes.map((r) => [r.path, r]));
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_PUSH_BODY_BYTES;
  const isDraining = options.isDraining ?? (() => false);
  const { verifier, log } = options;

  const handle = async (route: PushRoute, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    try {
      if (req.method !== 'POST') throw new PushRequestError(405, `${req.method} is not a push delivery; Pub/Sub POSTs`);
      if (isDraining()) throw new PushRequestError(503, 'shutting down; Pub/Sub will redeliver');
      if (verifier) await verifier(pushTokenHeader(req.headers));
      const body = await readBody(req, maxBodyBytes);
      const { message, subscription } = parsePushRequest(body, req.headers, req.rawHeaders);
      const outcome = await route.pipeline(message, subscription ?? route.subscription);
      if (outcome === 'retry') reply(res, 500, 'transient failure; Pub/Sub will redeliver', isDraining());
      else {
        res.writeHead(204, isDraining() ? { connection: 'close' } : undefined);
        res.end();
      }
    } catch (error) {
      if (error instanceof PushRequestError) {
        if (error.status !== 503)
          log.warn({ consumer: route.consumer, status: error.status, method: req.method, error: error.message }, 'push request refused');
        reply(res, error.status, error.message, error.status === 413 || isDraining(), error.status === 405 ? { allow: 'POST' } : undefined);
      } else {
        log.error({ consumer: route.consumer, err: error }, 'push request failed');
        reply(res, 500, 'internal error', isDraining());
      }
    }
  };

  return (req, res) => {
    const url = req.url ?? '';
    if (!url.startsWith(PUSH_PREFIX)) return false;
    const q = url.indexOf('?');
    const route = routes.get(q < 0 ? url : url.slice(0, q));
    if (!route) {
      reply(
        res,
        404,
        `no push consumer at ${q < 0 ? url : url.slice(0, q)} (consumers: ${[...routes.values()].map((r) => r.consumer).join(', ') || 'none'})`,
        false,
      );
      return true;
    }
    void handle(route, req, res);
    return true;
  };
}

function reply(res: http.ServerResponse, status: number, error: string, close: boolean, extra?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify({ error });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...(close ? { connection: 'close' } : {}),
    ...extra,
  });
  res.end(body);
}

/**
 * Reads the whole body, refusing (413) more than `limit` bytes before buffering them. On the hot
 * path: plain `on` listeners guarded by `settled` (no `once` wrappers, no per-request named closures).
 */
export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(new PushRequestError(413, `body of ${declared} bytes exceeds the ${limit}-byte limit`));
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    let settled = false;
    req.on('data', (chunk: Buffer) => {
      if (settled) return; // over the limit: the rest flows past unbuffered
      size += chunk.length;
      if (size > limit) {
        settled = true;
        first = chunks = undefined;
        reject(new PushRequestError(413, `body exceeds the ${limit}-byte limit`));
      } else if (first === undefined) first = chunk;
      else (chunks ??= [first]).push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks ? Buffer.concat(chunks, size) : (first ?? EMPTY));
    });
    req.on('error', (error: Error) => {
      if (settled) return;
      settled = true;
      reject(new PushRequestError(400, `request body could not be read: ${error.message}`));
    });
    req.on('close', () => {
      if (settled) return;
      settled = true;
      reject(new PushRequestError(400, 'client closed the connection before the body ended'));
    });
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function toDate(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
