/**
 * `mesh dead-letters <consumer> [--redrive]`: what waits in a consumer's dead-letter hold and why;
 * with --redrive, send it back to that consumer only (shared/consumer/dead-letter-hold.ts). Locally
 * against the Pub/Sub emulator of `npm start`; with --gcp against Pub/Sub itself.
 */
import type { Command } from 'commander';
import { listHeld, redriveHeld, type HeldMessage } from '../../shared/consumer/dead-letter-hold';
import { pubsubFromEnv } from '../../shared/consumer/env';
import { assertEmulatorUp, localPubSub, localPubsubHost } from '../../shared/local/connect';
import { loadSpec } from '../../shared/spec';
import { printTable } from '../table';
import { UserError } from '../../shared/errors';

interface DeadLetterOptions {
  redrive?: boolean;
  max: string;
  json?: boolean;
  gcp?: boolean;
}

export function register(program: Command): void {
  program
    .command('dead-letters')
    .description("list what waits in a consumer's dead-letter hold and why; --redrive sends it back to that consumer only")
    .argument('<consumer>', 'consumer name from the spec')
    .option('--redrive', "republish the held messages to the consumer's redrive topic and remove them from the hold")
    .option('--max <n>', 'at most this many messages', '100')
    .option('--json', 'print JSON')
    .option('--gcp', 'Pub/Sub in GCP (application default credentials, project from GOOGLE_CLOUD_PROJECT)')
    .action(async (name: string, options: DeadLetterOptions) => {
      const spec = loadSpec(program.opts().spec);
      const consumer = spec.consumers[name];
      if (!consumer) throw new UserError(`no consumer "${name}" in the spec; consumers: ${Object.keys(spec.consumers).join(', ')}`);
      const max = Number(options.max);
      if (!Number.isInteger(max) || max < 1) throw new UserError('--max must be a positive integer');
      let pubsub;
      if (options.gcp) {
        delete process.env.PUBSUB_EMULATOR_HOST;
        pubsub = pubsubFromEnv(process.env.GOOGLE_CLOUD_PROJECT ?? spec.project);
      } else {
        await assertEmulatorUp(localPubsubHost(spec), 'Pub/Sub');
        pubsub = localPubSub(spec);
      }
      try {
        const messages: HeldMessage[] = options.redrive ? await redriveHeld(pubsub, consumer, { max }) : await listHeld(pubsub, consumer, { max });
        if (options.json) console.log(JSON.stringify({ consumer: name, redriven: Boolean(options.redrive), messages }, null, 2));
        else {
          printTable(
            ['dead-lettered at', 'event id', 'type', 'reason', 'error'],
            messages.map((m) => [m.deadLetteredAt, m.eventId ?? '-', m.type ?? '-', m.reason, (m.error ?? '').slice(0, 80)]),
          );
          console.log(
            options.redrive
              ? `${messages.length} redriven to ${name} only`
              : `${messages.length} held${messages.length ? ` (send them back with: npm run mesh -- dead-letters ${name} --redrive)` : ''}`,
          );
        }
      } finally {
        await pubsub.close();
      }
    });
}
