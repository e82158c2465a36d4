import type { Command } from 'commander';
import { consumerResources, loadSpec } from '../../shared/spec';
import { startLocalMesh } from '../../shared/local';
import { printTable } from '../table';

export function register(program: Command): void {
  program
    .command('up')
    .description('run the mesh locally on Google\'s emulators (what `npm start` does); Ctrl-C stops everything')
    .option('--fresh', 'start from empty local data')
    .action(async (options: { fresh?: boolean }) => {
      const spec = loadSpec(program.opts().spec);
      const mesh = await startLocalMesh(spec, { fresh: options.fresh, onProgress: (line) => console.log(`- ${line}`) });
      let stopping = false;
      const shutdown = async () => {
        if (stopping) return;
        stopping = true;
        console.log('\nstopping ...');
        await mesh.stop();
        console.log('stopped; local data kept in', spec.local.dataDir);
        process.exit(0);
      };
      process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);

      printTable(['what', 'where'], [
        ['Pub/Sub emulator', `PUBSUB_EMULATOR_HOST=${mesh.pubsubHost}`],
        ['Firestore emulator', `FIRESTORE_EMULATOR_HOST=${mesh.firestoreHost}`],
      ]);
      printTable(['consumer', 'topic', 'delivery', 'subscription', 'dead letters'], Object.values(spec.consumers).map((c) => [c.name, c.topic, c.delivery === 'push' ? `push -> ${c.service}` : c.delivery === 'pull' ? `pull <- ${c.service}` : c.delivery, consumerResources(c).subscription, consumerResources(c).deadLetterHold]));
      console.log('running; press Ctrl-C to stop');
    });
}
