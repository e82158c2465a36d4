#!/usr/bin/env tsx
/**
 * The `mesh` command line: `npm run mesh -- <command>`. Each command lives in tools/commands/ and
 * registers itself on the program; every command reads the same spec (--spec, default mesh.yaml).
 */
import { Command } from 'commander';
import { commands } from './commands';
import { describeFailure } from './report-error';

const program = new Command('mesh')
  .description('Pub/Sub event mesh: one spec, deployed with Pulumi or run on the emulators')
  .option('--spec <file>', 'mesh spec file', process.env.MESH_SPEC ?? 'mesh.yaml')
  .showHelpAfterError();

for (const register of commands) register(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  // Expected failures (UserError) print one line, or one line per spec issue, never a stack.
  console.error(describeFailure(error));
  process.exit(1);
});
