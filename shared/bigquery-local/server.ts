/**
 * The local BigQuery endpoint: the REST subset the warehouse loader and analysts use, with the JSON
 * shapes `@google-cloud/bigquery` sends and expects, served from DuckDB (see store/). Reach it with
 * `new BigQuery({projectId, apiEndpoint: url})` (paths /bigquery/v2/projects/...) or
 * BIGQUERY_EMULATOR_HOST=url (paths /projects/...). No authentication.
 *
 *   datasets    insert, get, list, patch, delete
 *   tables      insert (tables and views), get, list, patch/update, delete
 *   tabledata   insertAll (per-row errors, skipInvalidRows, ignoreUnknownValues, insertId dedup), list
 *   jobs        insert (query jobs), get, getQueryResults; jobs.query
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { DuckDBValue } from '@duckdb/node-api';
import { ApiFailure, invalid, notFound } from './errors';
import { encodeRows, LocalBigQueryStore, type QueryRequest, type QueryResult } from './store';

export interface LocalBigQueryOptions {
  /** Port to listen on; default: a free one. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** DuckDB file that keeps datasets, tables and rows between runs; default ':memory:'. */
  dataFile?: string;
  /** How long insertIds are remembered for dedup, in seconds (default 3600). */
  dedupWindowSeconds?: number;
  /** Request log (method, path, status); default none. */
  log?: (line: string) => void;
}

export interface LocalBigQuery {
  /** Base URL for `apiEndpoint` or BIGQUERY_EMULATOR_HOST, e.g. http://127.0.0.1:9050 */
  url: string;
  port: number;
  store: LocalBigQueryStore;
  stop(): Promise<void>;
}

/** BigQuery's request size limit for insertAll and queries. */
const MAX_BODY = 10 * 1024 * 1024;
/** Results kept for getQueryResults paging; older jobs are forgotten. */
const MAX_JOBS = 200;
const DEFAULT_PAGE = 100_000;

interface Job {
  resource: Record<string, unknown>;
  result: QueryResult;
}

export async function startLocalBigQuery(options: LocalBigQueryOptions = {}): Promise<LocalBigQuery> {
  const store = await LocalBigQueryStore.open({ dataFile: options.dataFile ?? ':memory:', dedupWindowSeconds: options.dedupWindowSeconds });
  const jobs = new Map<string, Job>();
  const host = options.host ?? '127.0.0.1';

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      const started = Date.now();
      const send = (status: number, body: unknown) => {
        const text = body === undefined ? '' : JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
        res.end(text);
        options.log?.(`${req.method} ${req.url} ${status} ${Date.now() - started}ms`);
      };
      (async () => {
        if (size > MAX_BODY) throw invalid(`Request payload size exceeds the limit: ${MAX_BODY} bytes.`);
        let body: Record<string, unknown> = {};
        if (chunks.length) {
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            throw invalid('Invalid JSON payload received.');
          }
        }
        const url = new URL(req.url ?? '/', 'http://local');
        return route(req.method ?? 'GET', url, body, req.headers);
      })()
        .then(([status, out]) => send(status, out))
        .catch((error: unknown) => {
          if (error instanceof ApiFailure) send(error.code, error.body());
          else {
            options.log?.(`internal error: ${(error as Error).stack ?? String(error)}`);
            send(500, new ApiFailure(500, 'internalError', `local BigQuery endpoint: ${(error as Error).message}`).body());
          }
        });
    });
  });

  async function route(method: string, url: URL, body: Record<string, unknown>, headers: http.IncomingHttpHeaders): Promise<[number, unknown]> {
    const p = url.pathname.replace(/^\/bigquery\/v2(?=\/)/, '').replace(/\/+$/, '');
    const q = url.searchParams;
    if (p === '' && method === 'GET') return [200, { kind: 'bigquery-local', ok: true }];
    if (p.startsWith('/upload/')) throw invalid('unsupported locally: load jobs (uploads); stream rows with insertAll instead');
    const parts = p.split('/').slice(1).map(decodeURIComponent);
    if (parts[0] !== 'projects' || !parts[1]) throw notFound(`URL ${url.pathname}`);
    const project = parts[1];
    const rest = parts.slice(2);
    const [kind, id, sub, subId, action] = rest;
    const int64Timestamp = q.get('formatOptions.useInt64Timestamp') === 'true';

    if (kind === 'datasets') {
      if (!id) {
        if (method === 'POST') return [200, await store.createDataset(project, body)];
        if (method === 'GET') return [200, store.listDatasets(project)];
      } else if (!sub) {
        if (method === 'GET') return [200, store.getDataset(project, id)];
        if (method === 'PATCH' || method === 'PUT') return [200, await store.patchDataset(project, id, body)];
        if (method === 'DELETE') return [204, await store.deleteDataset(project, id, q.get('deleteContents') === 'true')];
      } else if (sub === 'tables') {
        if (!subId) {
          if (method === 'POST') return [200, await store.createTable(project, id, body)];
          if (method === 'GET') return [200, store.listTables(project, id)];
        } else if (!action) {
          if (method === 'GET') return [200, await store.getTable(project, id, subId)];
          if (method === 'PATCH' || method === 'PUT') return [200, await store.patchTable(project, id, subId, body, headers['if-match'])];
          if (method === 'DELETE') return [204, await store.deleteTable(project, id, subId)];
        } else if (action === 'insertAll' && method === 'POST') {
          return [200, await store.insertAll(project, id, subId, body)];
        } else if (action === 'data' && method === 'GET') {
          const start = Number(q.get('pageToken') ?? q.get('startIndex') ?? 0);
          const max = Number(q.get('maxResults') ?? DEFAULT_PAGE);
          const page = await store.listRows(project, id, subId, start, max);
          const next = start + page.rows.length;
          return [
            200,
            {
              kind: 'bigquery#tableDataList',
              etag: randomUUID(),
              totalRows: String(page.totalRows),
              rows: encodeRows(page.schema.fields, page.rows, int64Timestamp),
              ...(next < page.totalRows && { pageToken: String(next) }),
            },
          ];
        }
      }
    } else if (kind === 'jobs') {
      if (!id && method === 'POST') return [200, await insertJob(project, body)];
      if (id && !sub && method === 'GET') return [200, job(project, id).resource];
      if (id && sub === 'cancel' && method === 'POST') return [200, { kind: 'bigquery#jobCancelResponse', job: job(project, id).resource }];
      if (id && sub === 'delete' && method === 'DELETE') return [204, void jobs.delete(id)];
    } else if (kind === 'queries') {
      if (!id && method === 'POST') return [200, await jobsQuery(project, body)];
      if (id && method === 'GET') {
        const found = job(project, id);
        return [200, queryResponse('bigquery#getQueryResultsResponse', project, id, found, q, int64Timestamp)];
      }
    }
    throw new ApiFailure(501, 'notImplemented', `unsupported locally: ${method} ${url.pathname}`);
  }

  function job(project: string, id: string): Job {
    const found = jobs.get(id);
    if (!found) throw notFound(`Job ${project}:US.${id}`);
    return found;
  }

  function remember(id: string, value: Job): void {
    jobs.set(id, value);
    while (jobs.size > MAX_JOBS) jobs.delete(jobs.keys().next().value as string);
  }

  function jobResource(
    project: string,
    jobId: string,
    location: string,
    configuration: Record<string, unknown>,
    result: QueryResult,
    created: number,
  ): Record<string, unknown> {
    return {
      kind: 'bigquery#job',
      etag: randomUUID(),
      id: `${project}:${location}.${jobId}`,
      jobReference: { projectId: project, jobId, location },
      configuration: { jobType: 'QUERY', ...configuration },
      status: { state: 'DONE' },
      statistics: {
        creationTime: String(created),
        startTime: String(created),
        endTime: String(Date.now()),
        totalBytesProcessed: '0',
        query: { totalBytesProcessed: '0', totalBytesBilled: '0', cacheHit: false, statementType: result.statementType, schema: result.schema },
      },
      user_email: 'local@bigquery-local',
    };
  }

  /** jobs.insert: query jobs only; they run to completion before the response. */
  async function insertJob(project: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const configuration = (body.configuration ?? {}) as Record<string, unknown>;
    const query = configuration.query as QueryRequest | undefined;
    if (!query)
      throw invalid(
        `unsupported locally: ${
          Object.keys(configuration)
            .filter((k) => k !== 'labels')
            .join(', ') || 'this kind of'
        } jobs (only query jobs run locally)`,
      );
    const ref = (body.jobReference ?? {}) as { jobId?: string; location?: string };
    const jobId = ref.jobId ?? randomUUID();
    if (jobs.has(jobId)) throw new ApiFailure(409, 'duplicate', `Already Exists: Job ${project}:${ref.location ?? 'US'}.${jobId}`);
    const created = Date.now();
    const result = await store.query(project, { ...query, dryRun: configuration.dryRun === true || query.dryRun });
    const resource = jobResource(project, jobId, ref.location ?? 'US', configuration, result, created);
    if (!(configuration.dryRun === true)) remember(jobId, { resource, result });
    return resource;
  }

  /** jobs.query: runs the query and answers with the first page of rows. */
  async function jobsQuery(project: string, body: QueryRequest & Record<string, unknown>): Promise<Record<string, unknown>> {
    const created = Date.now();
    const result = await store.query(project, body);
    const jobId = randomUUID();
    const location = typeof body.location === 'string' ? body.location : 'US';
    const found = { resource: jobResource(project, jobId, location, { query: { query: body.query, useLegacySql: false } }, result, created), result };
    remember(jobId, found);
    const formatOptions = (body.formatOptions ?? {}) as { useInt64Timestamp?: boolean };
    const params = new URLSearchParams();
    if (body.maxResults !== undefined) params.set('maxResults', String(body.maxResults));
    return queryResponse('bigquery#queryResponse', project, jobId, found, params, formatOptions.useInt64Timestamp === true, location);
  }

  function queryResponse(
    kind: string,
    project: string,
    jobId: string,
    found: Job,
    q: URLSearchParams,
    int64Timestamp: boolean,
    location?: string,
  ): Record<string, unknown> {
    const { result } = found;
    const start = Number(q.get('pageToken') ?? q.get('startIndex') ?? 0);
    const max = Math.min(Number(q.get('maxResults') ?? DEFAULT_PAGE), DEFAULT_PAGE);
    const rows: DuckDBValue[][] = result.rows.slice(start, start + max);
    const next = start + rows.length;
    const reference = (found.resource.jobReference ?? {}) as { location?: string };
    return {
      kind,
      etag: randomUUID(),
      schema: result.schema,
      jobReference: { projectId: project, jobId, location: location ?? reference.location ?? 'US' },
      totalRows: String(result.rows.length),
      rows: encodeRows(result.schema.fields, rows, int64Timestamp),
      totalBytesProcessed: '0',
      jobComplete: true,
      cacheHit: false,
      ...(next < result.rows.length && { pageToken: String(next) }),
    };
  }

  server.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
  } catch (error) {
    store.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`local BigQuery endpoint: port ${options.port} on ${host} is already in use`, { cause: error });
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  let stopped = false;
  return {
    url: `http://${host}:${port}`,
    port,
    store,
    async stop() {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      store.close();
    },
  };
}
