#!/usr/bin/env tsx
/**
 * The `mesh` command line: `npm run mesh -- <command>`. Each command lives in tools/commands/ and
 * registers itself on the program; every command reads the same spec (--spec, default mesh.yaml).
 */
import { Command } from 'commander';
import { describeFailure } from './report-error';

const program = new Command('mesh')
  .description('Pub/Sub event mesh: one spec, deployed with Pulumi or run on the emulators')
  .option('--spec <file>', 'mesh spec file', process.env.MESH_SPEC ?? 'mesh.yaml')
  .showHelpAfterError();

/**
 * Commands an operator runs on a busy mesh load only their own module: all of them together load
 * ~2,300 modules (Pulumi, DuckDB, ...), seconds of CPU that a loaded 2-core machine has not got.
 * Anything else (help included) registers every command.
 */
const LIGHT: Record<string, () => Promise<(program: Command) => void>> = {
  status: async () => (await import('./commands/status')).register,
};

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
  const light = LIGHT[subcommandOf(process.argv.slice(2)) ?? ''];
  const registers = light ? [await light()] : (await import('./commands')).commands;
  for (const register of registers) register(program);
  await program.parseAsync(process.argv);
}

main().catch((error: unknown) => {
  // Expected failures (UserError) print one line, or one line per spec issue, never a stack.
  console.error(describeFailure(error));
  process.exit(1);
});
