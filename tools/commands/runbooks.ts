/**
 * `mesh runbooks [--check]`: writes docs/runbooks/ from the spec (tools/runbooks/render.ts), one per
 * kind of alert; `--check` writes nothing and exits 1 when a committed runbook differs from the spec.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../shared/errors';
import { loadSpec } from '../../shared/spec';
import { renderRunbooks } from '../runbooks/render';

export function register(program: Command): void {
  program
    .command('runbooks')
    .description('write docs/runbooks/ (one per kind of alert) from the spec; --check only compares')
    .option('--check', 'write nothing; exit 1 when a runbook differs from what the spec gives')
    .option('--root <dir>', 'the repository root', '.')
    .action((options: { check?: boolean; root: string }) => {
      const spec = loadSpec(program.opts().spec);
      const stale: string[] = [];
      for (const [file, text] of Object.entries(renderRunbooks(spec))) {
        const target = path.join(options.root, file);
        const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : undefined;
        if (current === text) continue;
        stale.push(file);
        if (!options.check) {
          fs.mkdirSync(path.dirname(target), { recursive: true });
          fs.writeFileSync(target, text);
        }
      }
      if (options.check && stale.length) throw new UserError(`runbooks differ from the spec: ${stale.join(', ')}`, { hint: 'run: npm run mesh -- runbooks' });
      console.log(stale.length ? `${options.check ? 'differ' : 'written'}: ${stale.join(', ')}` : 'runbooks up to date');
    });
}
