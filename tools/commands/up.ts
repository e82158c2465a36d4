import { Option, type Command } from 'commander';
import { consumerResources, loadSpec } from '../../shared/spec';
import type { MeshSpec } from '../../shared/spec';
import { startLocalMesh, type LocalMesh, type LocalPush } from '../../shared/local';
import { printTable } from '../table';
import { scheduleParity, type ParitySchedule } from '../parity/schedule';
import type { ParityReport } from '../parity/types';

export function register(program: Command): void {
  program
    .command('up')
    .description("run the whole mesh locally on Google's emulators (what `npm start` does); Ctrl-C stops everything")
    .option('--fresh', 'start from empty local data (emulators and warehouse)')
    .option('--no-services', 'start only the emulators, local BigQuery and the push relays, with the spec applied (run services by hand on their localPort)')
    .addOption(pushOption())
    .action(async (options: { fresh?: boolean; services: boolean; push: LocalPush }) => {
      const spec = loadSpec(program.opts().spec);
      const mesh = await startLocalMesh(spec, {
        fresh: options.fresh,
        services: options.services,
        push: options.push,
        onProgress: (line) => console.log(`- ${line}`),
      });
      let parity: ParitySchedule | undefined;
      if (spec.local.parityEverySeconds > 0 && options.services) {
        let last = '';
        parity = scheduleParity({
          spec,
          endpoints: mesh,
          dashboardUrl: mesh.serviceUrls.dashboard,
          everyMs: spec.local.parityEverySeconds * 1000,
          // One line when the verdict changes, not every run.
          onRun: (report, error) => {
            const line = error ? `parity run failed: ${error.message}` : describeParity(report!);
            if (line !== last) console.log(`- ${line}`);
            last = line;
          },
        });
      }
      let stopping = false;
      const shutdown = async () => {
        if (stopping) return;
        stopping = true;
        console.log('\nstopping ...');
        try {
          await parity?.stop();
          await mesh.stop();
          console.log(`stopped; local data kept in ${spec.local.dataDir} (npm start -- --fresh to start empty)`);
          process.exit(0);
        } catch (error) {
          console.error(`mesh: ${(error as Error).message}`);
          process.exit(1);
        }
      };
      process.on('SIGINT', () => void shutdown());
      process.on('SIGTERM', () => void shutdown());
      printSummary(spec, mesh, options.push);
      console.log(`running; logs in ${spec.local.dataDir}/logs; \`npm run mesh -- status\` in another terminal; Ctrl-C stops everything`);
    });
}

function describeParity(report: ParityReport): string {
  if (report.mismatches) return `parity: ${report.mismatches} MISMATCH(ES) on the last 30 minutes (npm run mesh -- parity --since 30m --window 1m)`;
  return `parity: the sinks agree on the last 30 minutes (${report.rows.length - report.pending} checks, ${report.pending} pending)`;
}

/** The one short table: where things are (dashboard page first), then each consumer and its subscription. */
function printSummary(spec: MeshSpec, mesh: LocalMesh, push: LocalPush): void {
  const services = Object.keys(mesh.serviceUrls).sort((a, b) => (a === 'dashboard' ? -1 : b === 'dashboard' ? 1 : a.localeCompare(b)));
  printTable(
    ['what', 'where'],
    [
      ...services.map((name) => [name === 'dashboard' ? 'dashboard page' : `${name} service`, `${mesh.serviceUrls[name]}/`]),
      ['local BigQuery', `${mesh.bigqueryUrl} (npm run mesh -- query "<SQL>")`],
      ['Pub/Sub emulator', `PUBSUB_EMULATOR_HOST=${mesh.pubsubHost}`],
      ['Firestore emulator', `FIRESTORE_EMULATOR_HOST=${mesh.firestoreHost}`],
    ],
  );
  printTable(
    ['consumer', 'delivery', 'subscription', 'dead letters held in'],
    Object.values(spec.consumers).map((c) => [
      c.name,
      c.delivery === 'push'
        ? `push -> ${c.service} (${push === 'relay' ? 'relayed' : "emulator's push"})`
        : c.delivery === 'pull'
          ? `pull <- ${c.service}`
          : `bigquery -> ${c.table}`,
      consumerResources(c).subscription,
      consumerResources(c).deadLetterHold,
    ]),
  );
}

/** Shared by `up` and `apply --local`: both must agree on who pushes. */
export function pushOption(): Option {
  return new Option(
    '--push <who>',
    "who pushes to push consumers locally: relay (GCP's push form, the service's concurrency in flight) or emulator (its own push: 2 in flight, no deliveryAttempt/orderingKey)",
  )
    .choices(['relay', 'emulator'])
    .default('relay');
}
