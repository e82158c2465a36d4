import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { loadSpec, parseDuration } from '../../shared/spec';
import { assertEmulatorUp, localPubSub, localPubsubHost } from '../../shared/local';
import { DEFAULT_MIX, type TrafficMix } from '../load/traffic';
import { runLoad } from '../load/run';
import { printTable } from '../table';
import { UserError } from '../../shared/errors';

interface LoadOptions {
  rate: string;
  duration: string;
  duplicates: string;
  outOfOrder: string;
  poison: string;
  raw: string;
  seed?: string;
}

export function register(program: Command): void {
  program
    .command('load')
    .description('send realistic demo traffic to the local mesh (both topics), with duplicates, out-of-order steps and poison')
    .option('--rate <n>', 'events per second', '100')
    .option('--duration <d>', 'how long, e.g. 30s, 2m', '30s')
    .option('--duplicates <share>', 'share of sends that repeat an earlier event id', String(DEFAULT_MIX.duplicates))
    .option('--out-of-order <share>', 'share of order steps sent before the one they follow', String(DEFAULT_MIX.outOfOrder))
    .option('--poison <share>', 'share of sends with a broken envelope', String(DEFAULT_MIX.poison))
    .option('--raw <share>', 'share of events sent with the plain @google-cloud/pubsub client', String(DEFAULT_MIX.raw))
    .option('--seed <n>', 'random seed, for a repeatable run')
    .action(async (options: LoadOptions) => {
      const spec = loadSpec(program.opts().spec);
      const rate = Number(options.rate);
      const seconds = parseDuration(options.duration);
      if (!(rate > 0)) throw new UserError(`must be a positive number of events a second (got "${options.rate}")`, { where: '--rate' });
      if (!(seconds > 0)) throw new UserError(`must be a positive duration such as 30s or 2m (got "${options.duration}")`, { where: '--duration' });
      await assertEmulatorUp(localPubsubHost(spec), 'Pub/Sub');
      const mix: TrafficMix = {
        ...DEFAULT_MIX,
        duplicates: Number(options.duplicates),
        outOfOrder: Number(options.outOfOrder),
        poison: Number(options.poison),
        raw: Number(options.raw),
      };
      const pubsub = localPubSub(spec);
      const bar = new SingleBar({
        format: 'load [{bar}] {percentage}% | sent {value}/{total} | acked {acked} | errors {errors} | {rate}/s',
        hideCursor: true,
        noTTYOutput: true,
        notTTYSchedule: 2000,
      });
      const total = Math.round(rate * seconds);
      bar.start(total, 0, { acked: 0, errors: 0, rate: 0 });
      const started = Date.now();
      let stop = false;
      process.once('SIGINT', () => (stop = true));
      const report = await runLoad({
        spec,
        pubsub,
        rate,
        seconds,
        mix,
        seed: options.seed ? Number(options.seed) : Date.now(),
        stopped: () => stop,
        onProgress: (p) => bar.update(p.sent, { acked: p.acked, errors: p.errors, rate: Math.round(p.sent / Math.max((Date.now() - started) / 1000, 0.001)) }),
      });
      bar.stop();
      await pubsub.close();
      const { counts } = report;
      printTable(
        ['sent', 'sent/s', 'unique events', 'duplicates', 'out-of-order', 'poison', 'via raw client', 'acked by Pub/Sub', 'errors'],
        [
          [
            report.sent,
            Math.round(report.sentPerSecond),
            counts.event,
            counts.duplicate,
            counts.outOfOrder,
            counts.poison,
            counts.raw,
            report.acked,
            report.errors,
          ],
        ],
      );
      if (!report.reached && !stop) console.error(`rate not reached: ${report.shortfall}`);
      // Publish failures per topic, as the publisher SDK counts them (the raw-client share is in `errors` only).
      const perTopic = Object.entries(report.publishStats);
      if (perTopic.some(([, c]) => c.failed || c.rejected || c.throttled))
        printTable(
          ['topic', 'published', 'failed', 'rejected', 'throttled', 'failures by status'],
          perTopic.map(([topic, c]) => [
            topic,
            c.published,
            c.failed,
            c.rejected,
            c.throttled,
            Object.entries(c.failuresByCode)
              .map(([code, n]) => `${code} ${n}`)
              .join(', ') || '-',
          ]),
        );
      if (report.errors) console.error(`last error: ${report.lastError}`);
    });
}
