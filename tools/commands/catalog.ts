/**
 * `mesh catalog [--out FILE] [--format yaml|json]`: the event catalog, an AsyncAPI 3.0 document
 * generated from the spec (shared/catalog), to stdout or a file. The dashboard's /catalog page shows
 * the same document.
 */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { buildCatalog } from '../../shared/catalog';
import { UserError } from '../../shared/errors';
import { loadSpec } from '../../shared/spec';

export function register(program: Command): void {
  program
    .command('catalog')
    .description('write the event catalog, an AsyncAPI 3.0 document of every topic, event type, schema revision and consumer, from the spec')
    .option('--out <file>', 'write it to this file instead of stdout')
    .option('--format <format>', 'yaml or json', 'yaml')
    .action((options: { out?: string; format: string }) => {
      if (options.format !== 'yaml' && options.format !== 'json') throw new UserError(`--format must be yaml or json, got "${options.format}"`);
      const document = buildCatalog(loadSpec(program.opts().spec));
      // aliasDuplicateObjects off: the same value twice stays written twice, never as a YAML anchor.
      const text = options.format === 'json' ? `${JSON.stringify(document, null, 2)}\n` : stringify(document, { aliasDuplicateObjects: false, lineWidth: 0 });
      if (!options.out) return void process.stdout.write(text);
      fs.writeFileSync(options.out, text);
      console.log(
        `${options.out}: AsyncAPI ${document.asyncapi}, ${Object.keys(document.channels).length} channels, ${Object.keys(document.operations).length} operations`,
      );
    });
}
