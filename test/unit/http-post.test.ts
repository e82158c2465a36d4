/**
 * The push relay's POST (shared/local/http-post.ts) against a real node:http server on a free port:
 * status and body as sent, sockets kept alive, the timeout, and the refused connection the relay
 * reads as "no instance listening".
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { JsonPoster, PostTimeoutError } from '../../shared/local/http-post';

describe('JsonPoster', () => {
  let server: http.Server;
  let base: string;
  const received: { method?: string; type?: string; body: string }[] = [];
  let connections = 0;
  let answer: (res: http.ServerResponse) => void = (res) => res.writeHead(204).end();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        received.push({ method: req.method, type: req.headers['content-type'], body });
        answer(res);
      });
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    received.length = 0;
    connections = 0;
    answer = (res) => res.writeHead(204).end();
  });

  it('POSTs the JSON body and resolves with the status once the answer is read', async () => {
    const poster = new JsonPoster(`${base}/push/x?token=1`, { maxSockets: 4, timeoutMs: 5000 });
    answer = (res) => res.writeHead(503, { 'content-type': 'text/plain' }).end('busy '.repeat(10_000));
    const body = JSON.stringify({ message: { data: 'é€', attributes: { a: 'b' } } });
    expect(await poster.post(body)).toBe(503);
    expect(received).toEqual([{ method: 'POST', type: 'application/json', body }]);
    poster.close();
  });

  it('keeps its sockets alive: sequential posts share one connection, concurrent ones at most maxSockets', async () => {
    const poster = new JsonPoster(`${base}/push`, { maxSockets: 3, timeoutMs: 5000 });
    for (let i = 0; i < 5; i++) expect(await poster.post('{}')).toBe(204);
    expect(connections).toBe(1);
    await Promise.all(Array.from({ length: 20 }, () => poster.post('{}')));
    expect(connections).toBeLessThanOrEqual(3);
    expect(received).toHaveLength(25);
    poster.close();
  });

  it('fails with PostTimeoutError when no complete answer comes within the timeout', async () => {
    const poster = new JsonPoster(`${base}/push`, { maxSockets: 1, timeoutMs: 200 });
    answer = (res) => res.writeHead(200); // headers, never the end
    await expect(poster.post('{}')).rejects.toBeInstanceOf(PostTimeoutError);
    // The socket was destroyed, not reused half-read: the next post gets a fresh one and its answer.
    answer = (res) => res.writeHead(204).end();
    expect(await poster.post('{}')).toBe(204);
    poster.close();
  });

  it('rejects with ECONNREFUSED when nothing listens on the port', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const poster = new JsonPoster(`http://127.0.0.1:${port}/push`, { maxSockets: 1, timeoutMs: 5000 });
    await expect(poster.post('{}')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    poster.close();
  });

  it('refuses an endpoint that is not plain http', () => {
    expect(() => new JsonPoster('https://example.com/push', { maxSockets: 1, timeoutMs: 1000 })).toThrow(/only http:\/\//);
  });
});
