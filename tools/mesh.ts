#!/usr/bin/env tsx
/**
 * The `mesh` command line: `npm run mesh -- <command>`. Each command lives in tools/commands/ and
 * registers itself on the program; every command reads the same spec (--spec, default mesh.yaml).
 */
import { Command } from 'commander';
import { MeshSpecError } from '../shared/spec';
import { commands } from './commands';

const program = new Command('mesh')
  .description('Pub/Sub event mesh: one spec, deployed with Pulumi or run on the emulators')
  .option('--spec <file>', 'mesh spec file', process.env.MESH_SPEC ?? 'mesh.yaml')
  .showHelpAfterError();

for (const register of commands) register(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  // Expected failures print their own one-line (or one-line-per-issue) message, never a stack.
  if (error instanceof MeshSpecError) console.error(error.message);
  else if (error instanceof Error && (error as { userFacing?: boolean }).userFacing) console.error(`mesh: ${error.message}`);
  else console.error(error);
  process.exit(1);
});
