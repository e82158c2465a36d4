import type { Command } from 'commander';
import { loadSpec } from '../../shared/spec';

export function register(program: Command): void {
  program
    .command('validate')
    .description(
      'check the spec and its schemas, and that every topic and consumer has an owner who can be reached; prints one line per error with its location',
    )
    .action(() => {
      // Strict: what a deployment needs too (owners), not only what runs.
      const spec = loadSpec(program.opts().spec, { strict: true });
      console.log(
        `${spec.file}: ok (${Object.keys(spec.topics).length} topics, ${Object.keys(spec.consumers).length} consumers, ${Object.keys(spec.services).length} services)`,
      );
    });
}
