/**
 * An AckSource that asks the running services: GET <service url>/stats/acks?consumer=<c>&after=<n>
 * (served by every consumer runtime, shared/consumer/service.ts). Locally the services listen on
 * http://127.0.0.1:<spec.services[s].localPort>; MESH_SERVICE_URLS ("name=url,name=url", set by the
 * local runner) overrides that.
 */
import type { MeshSpec } from '../spec/types';
import type { AckBatch, AckSource } from './local';
import { localServiceOf } from '../spec/names';

export class AckSourceError extends Error {
  override readonly name = 'AckSourceError';
}

export interface HttpAckSourceOptions {
  spec: MeshSpec;
  /** service name -> base URL. Default: serviceUrlsFromEnv(spec). */
  serviceUrls?: Record<string, string>;
  /** Per-request timeout; default 2000 ms. */
  timeoutMs?: number;
  /** Ids per request; default 10000 (the reader catches up over several reads). */
  limit?: number;
}

/** "dashboard=http://127.0.0.1:8081,processor=http://..." -> {dashboard: 'http://127.0.0.1:8081', ...}. */
export function parseServiceUrls(text: string): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) throw new AckSourceError(`MESH_SERVICE_URLS entry "${part}" is not name=url`);
    urls[part.slice(0, eq).trim()] = part
      .slice(eq + 1)
      .trim()
      .replace(/\/+$/, '');
  }
  return urls;
}

/** The spec's local ports, overridden by MESH_SERVICE_URLS entries. */
export function serviceUrlsFromEnv(spec: MeshSpec, env: Record<string, string | undefined> = process.env): Record<string, string> {
  const urls = Object.fromEntries(Object.entries(spec.services).map(([name, s]) => [name, `http://127.0.0.1:${s.localPort}`]));
  return { ...urls, ...(env.MESH_SERVICE_URLS ? parseServiceUrls(env.MESH_SERVICE_URLS) : {}) };
}

export function httpAckSource(options: HttpAckSourceOptions): AckSource {
  const { spec } = options;
  const urls = options.serviceUrls ?? serviceUrlsFromEnv(spec);
  const timeoutMs = options.timeoutMs ?? 2000;
  const limit = options.limit ?? 10_000;
  /** consumer -> the process instance its last page came from. */
  const instances = new Map<string, string>();
  return async (consumer, after): Promise<AckBatch> => {
    const known = spec.consumers[consumer];
    const service = known ? localServiceOf(known) : undefined;
    const base = service ? urls[service] : undefined;
    // A consumer no running service acks reports no acks.
    if (!base) return { ids: [], next: after };
    const url = `${base}/stats/acks?consumer=${encodeURIComponent(consumer)}&after=${after}&limit=${limit}`;
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new AckSourceError(`${url}: HTTP ${response.status}`);
    const body = (await response.json()) as { ids?: unknown; next?: unknown; instance?: unknown };
    if (!Array.isArray(body.ids) || typeof body.next !== 'number') throw new AckSourceError(`${url}: not an ack page`);
    // A service that restarted numbers its acks from 0 again: start over from its beginning. The
    // instance tells even when the new process has already acked past the old cursor.
    const instance = typeof body.instance === 'string' ? body.instance : undefined;
    const previous = instances.get(consumer);
    if (instance) instances.set(consumer, instance);
    if ((previous && instance && previous !== instance) || body.next < after) return { ids: [], next: 0, restarted: true };
    return { ids: body.ids as string[], next: body.next };
  };
}

/** Answers from `first` for the consumers it knows (e.g. the dashboard's own, in process), else from `rest`. */
export function combineAckSources(first: { has(consumer: string): boolean; source: AckSource }, rest: AckSource): AckSource {
  return (consumer, after) => (first.has(consumer) ? first.source(consumer, after) : rest(consumer, after));
}
