/**
 * The runbooks (tools/runbooks/render.ts): the committed docs/runbooks/ are what the spec gives
 * (a spec change without `mesh runbooks` fails here), they follow the spec, and every command they
 * tell an on-call person to run exists with the options they name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { RUNBOOK_KINDS, runbookPath } from '../../shared/operations';
import { loadSpec } from '../../shared/spec';
import { loadCommands } from '../../tools/commands';
import { renderRunbook, renderRunbooks } from '../../tools/runbooks/render';

const ROOT = path.join(__dirname, '..', '..');
const spec = loadSpec(path.join(ROOT, 'mesh.yaml'));

it('the committed runbooks are a fresh render of mesh.yaml (run `npm run mesh -- runbooks` after changing the spec)', () => {
  const rendered = renderRunbooks(spec);
  expect(Object.keys(rendered).sort()).toEqual(RUNBOOK_KINDS.map(runbookPath).sort());
  for (const [file, text] of Object.entries(rendered)) expect(fs.readFileSync(path.join(ROOT, file), 'utf8')).toBe(text);
});

it('follow the spec: thresholds, retention and owners per consumer', () => {
  const changed = {
    ...spec,
    consumers: {
      ...spec.consumers,
      'processor-orders': { ...spec.consumers['processor-orders'], lagSlo: { oldestUnackedSeconds: 420, backlog: 77 }, replay: { retentionSeconds: 86400 } },
    },
  };
  expect(renderRunbook(changed, 'lag')).toContain('| `processor-orders` | orders | pull, processor | 7m | 77 | commerce |');
  expect(renderRunbook(changed, 'buffer')).toContain('| `processor-orders` | orders | 1 d | 1152m | commerce |');
  // A BigQuery subscription cannot be paused: not in the buffer runbook, but its dead letters are.
  expect(renderRunbook(spec, 'buffer')).not.toContain('archive-orders');
  expect(renderRunbook(spec, 'dead-letters')).toContain('`archive-orders`');
});

it('names only commands and options the mesh CLI has', async () => {
  const program = new Command('mesh').option('--spec <file>');
  for (const register of await loadCommands()) register(program);
  const text = Object.values(renderRunbooks(spec)).join('\n');
  const lines = [...text.matchAll(/npm run mesh -- ([^`]+)`/g)].map((m) => m[1].trim());
  expect(lines.length).toBeGreaterThan(10);
  for (const line of lines) {
    const [name, second] = line.split(/\s+/);
    let command = program.commands.find((c) => c.name() === name);
    expect(command).toBeDefined();
    const sub = command!.commands.find((c) => c.name() === second);
    if (sub) command = sub;
    const known = new Set(command!.options.map((o) => o.long));
    for (const option of line.match(/--[a-z-]+/g) ?? []) expect([line, known.has(option)]).toEqual([line, true]);
  }
});
