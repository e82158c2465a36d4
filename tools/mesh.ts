#!/usr/bin/env tsx
/**
 * The `mesh` command line: `npm run mesh -- <command>`. Each command lives in tools/commands/ and
 * registers itself on the program; every command reads the same spec (--spec, default mesh.yaml).
 */
import { Command } from 'commander';
import { MODULES, loadCommands } from './commands';
import { describeFailure } from './report-error';

const program = new Command('mesh')
  .description('Pub/Sub event mesh: one spec, deployed with Pulumi or run on the emulators')
  .option('--spec <file>', 'mesh spec file', process.env.MESH_SPEC ?? 'mesh.yaml')
  .showHelpAfterError();

/** The sub-command named on the command line: the first operand after the global options. */
function subcommandOf(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--spec') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

async function main(): Promise<void> {
  // A named command loads only its own module; help and unknown commands need them all.
  const named = subcommandOf(process.argv.slice(2));
  const registers = await loadCommands(named && named in MODULES ? [named] : undefined);
  for (const register of registers) register(program);
  await program.parseAsync(process.argv);
}

main().catch((error: unknown) => {
  // Expected failures (UserError) print one line, or one line per spec issue, never a stack.
  console.error(describeFailure(error));
  process.exit(1);
});
