/**
 * Server-sent events: every connected page gets the dashboard snapshot pushed every `intervalMs`,
 * computed once per tick whatever the number of clients, and only while someone listens.
 */
import type { Request, Response } from 'express';
import type { Logger } from '../../shared/consumer';

export interface LiveFeedOptions {
  /** Produces the payload of one tick. */
  snapshot: () => Promise<unknown>;
  /** Default 1000 ms. */
  intervalMs?: number;
  log?: Logger;
}

export class LiveFeed {
  private readonly clients = new Set<Response>();
  private timer?: NodeJS.Timeout;
  private ticking = false;

  constructor(private readonly options: LiveFeedOptions) {}

  get listeners(): number {
    return this.clients.size;
  }

  /** express handler for GET /api/stream. */
  readonly handle = (req: Request, res: Response): void => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    req.on('close', () => {
      this.clients.delete(res);
      if (!this.clients.size) this.stopTimer();
    });
    void this.tick(); // the first snapshot at once
    this.timer ??= setInterval(() => void this.tick(), this.options.intervalMs ?? 1000);
  };

  private async tick(): Promise<void> {
    if (this.ticking || !this.clients.size) return;
    this.ticking = true;
    try {
      const data = `event: snapshot\ndata: ${JSON.stringify(await this.options.snapshot())}\n\n`;
      for (const res of this.clients) res.write(data);
    } catch (error) {
      this.options.log?.warn({ err: error }, 'live snapshot failed');
    } finally {
      this.ticking = false;
    }
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stopTimer();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
