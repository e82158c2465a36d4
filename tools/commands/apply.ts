import type { Command } from 'commander';
import { loadSpec } from '../../shared/spec';
import { applyLocal, assertEmulatorUp, localPubSub, localPubsubHost, type LocalPush } from '../../shared/local';
import { pushOption } from './up';
import { printTable } from '../table';
import { UserError } from '../../shared/errors';

export function register(program: Command): void {
  program
    .command('apply')
    .description("create the spec's schemas, topics and subscriptions (with dead-letter and redrive topics) on the Pub/Sub emulator, idempotently")
    .option('--local', 'apply to the local Pub/Sub emulator (GCP is deployed with `pulumi up`)')
    .option('--recreate', 'delete and recreate subscriptions whose immutable settings changed (their backlog is lost)')
    .option('--project <id>', 'project id on the emulator (default: spec.project)')
    .option('--quiet', 'print only what changed')
    .addOption(pushOption())
    .action(async (options: { local?: boolean; recreate?: boolean; project?: string; quiet?: boolean; push: LocalPush }) => {
      if (!options.local) throw new UserError('only --local is supported here; deploy to GCP with `pulumi up` (see docs/infra.md)');
      const spec = loadSpec(program.opts().spec);
      await assertEmulatorUp(localPubsubHost(spec), 'Pub/Sub');
      const pubsub = localPubSub(spec, options.project);
      try {
        const steps = await applyLocal({ pubsub, spec, recreate: options.recreate, push: options.push });
        const shown = options.quiet ? steps.filter((s) => s.action !== 'unchanged') : steps;
        printTable(
          ['kind', 'name', 'action', 'detail'],
          shown.map((s) => [s.kind, s.name, s.action, s.detail ?? '']),
        );
        const changed = steps.filter((s) => s.action !== 'unchanged').length;
        console.log(`${localPubsubHost(spec)} project ${options.project ?? spec.project}: ${changed} changed, ${steps.length - changed} unchanged`);
      } finally {
        await pubsub.close();
      }
    });
}
