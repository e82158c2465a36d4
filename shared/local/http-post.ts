/**
 * The push relay's HTTP leg: one JSON POST over node:http with a keep-alive agent of its own.
 *
 * Why not fetch: undici's fetch (web streams, a Request and a Response object, an AbortSignal per
 * call) cost the relay 4-6 times the CPU per POST of node:http on the same connection pool
 * (`npm run bench -- push-post`); at 150 events/s the relay posts each analytics event twice
 * (dashboard and processor), and its fetch calls were 14 % of the launcher's CPU while the whole mesh
 * had no core to spare (docs/performance.md).
 */
import * as http from 'node:http';

export interface JsonPosterOptions {
  /** Sockets kept open to the endpoint at most (the relay's requests in flight). */
  maxSockets: number;
  /** A request with no complete answer within this fails (ms). */
  timeoutMs: number;
}

/** No complete answer within the poster's timeout. */
export class PostTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'PostTimeoutError';
  }
}

export class JsonPoster {
  private readonly agent: http.Agent;
  private readonly target: { host: string; port: number; path: string };

  constructor(
    endpoint: string,
    private readonly options: JsonPosterOptions,
  ) {
    const url = new URL(endpoint);
    if (url.protocol !== 'http:') throw new Error(`JsonPoster: only http:// endpoints (local services), not ${endpoint}`);
    this.target = { host: url.hostname, port: Number(url.port || 80), path: `${url.pathname}${url.search}` };
    // Idle sockets get no lifetime of their own: the services keep idle connections 620 s
    // (shared/consumer/service.ts), so a server does not close one under a POST being written.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets });
  }

  /**
   * POSTs `body` (JSON) and resolves with the status once the answer is read to its end (the socket
   * goes back to the pool). Rejects with the socket's error (its `code`, e.g. ECONNREFUSED, kept) or
   * a PostTimeoutError.
   */
  post(body: string): Promise<number> {
    const { timeoutMs } = this.options;
    return new Promise<number>((resolve, reject) => {
      const request = http.request(
        {
          ...this.target,
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (response) => {
          response.on('error', reject);
          response.on('end', () => resolve(response.statusCode ?? 0));
          response.resume();
        },
      );
      // One timer for the whole exchange (the socket's idle timeout would restart on every byte).
      const timer = setTimeout(() => request.destroy(new PostTimeoutError(timeoutMs)), timeoutMs);
      request.on('close', () => clearTimeout(timer));
      request.on('error', reject);
      request.end(body);
    });
  }

  /** Closes the kept-alive sockets. */
  close(): void {
    this.agent.destroy();
  }
}
