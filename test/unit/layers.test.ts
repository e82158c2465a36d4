/**
 * The layers never cross (issue 17): shared/ imports only shared/; a service imports shared/ and its
 * own folder; infra/ imports shared/ and infra/; tools/ may import any of them. The rules and the
 * import scan (TypeScript's parser, not a regex) are in test/support/layers.ts.
 */
import * as path from 'node:path';
import { describeCrossing, findCrossings, importsOf, ruleBroken } from '../support/layers';

const REPO = path.resolve(__dirname, '../..');
const FIXTURE = path.join(__dirname, 'fixtures/layers');

describe('the layers of this repository', () => {
  it('never cross: every import under shared/, services/, infra/ and tools/ keeps the rules', () => {
    // On failure the message lists each crossing as file:line -> target (rule).
    expect(findCrossings(REPO).map(describeCrossing)).toEqual([]);
  });
});

describe('the layer check', () => {
  it('reports each crossing in a fixture tree, with file, line, target and rule', () => {
    expect(findCrossings(FIXTURE).map(describeCrossing)).toEqual([
      'shared/bad.ts:5 -> services/a/handler (shared/ must not import services/)',
      'shared/bad.ts:8 -> infra/setup (shared/ must not import infra/)',
      'services/a/handler.ts:2 -> infra/setup (services/ must not import infra/)',
      'services/a/handler.ts:7 -> services/b/handler (a service must not import another service (services/a -> services/b))',
      'services/a/handler.ts:8 -> tools/cli (services/ must not import tools/)',
      'services/b/handler.ts:3 -> tools/cli (services/ must not import tools/)',
      'infra/setup.ts:2 -> services/b/handler (infra/ must not import services/)',
    ]);
  });

  it('reads every form of import, multi-line included, and nothing in comments or strings', () => {
    const text = [
      'import {',
      '  a,',
      '  b,',
      "} from './multi';",
      "import type { T } from './type-only';",
      "import './side-effect';",
      "export * from './star';",
      "export { c } from './named';",
      "import d = require('./import-equals');",
      "const e = require('./require');",
      "const f = () => import('./dynamic');",
      "type G = typeof import('./import-type');",
      "// import { x } from './in-a-comment';",
      'const s = "import \'./in-a-string\'";',
      "const t = `require('./in-a-template')`;",
      'const u = require(name);',
    ].join('\n');
    expect(importsOf('x.ts', text)).toEqual([
      { specifier: './multi', line: 4 },
      { specifier: './type-only', line: 5 },
      { specifier: './side-effect', line: 6 },
      { specifier: './star', line: 7 },
      { specifier: './named', line: 8 },
      { specifier: './import-equals', line: 9 },
      { specifier: './require', line: 10 },
      { specifier: './dynamic', line: 11 },
      { specifier: './import-type', line: 12 },
    ]);
  });

  it('allows what the rules allow', () => {
    const allowed: [string, string][] = [
      ['shared/a/x.ts', 'shared/b/y'],
      ['services/a/x.ts', 'services/a/y'],
      ['services/a/x.ts', 'shared/consumer'],
      ['infra/x.ts', 'shared/spec'],
      ['infra/x.ts', 'infra/policy/policies'],
      ['tools/x.ts', 'services/a/y'],
      ['tools/x.ts', 'infra/y'],
      ['tools/x.ts', 'shared/y'],
    ];
    for (const [from, to] of allowed) expect([from, to, ruleBroken(from, to)]).toEqual([from, to, undefined]);
    expect(ruleBroken('tools/x.ts', 'test/support/y')).toBe('tools/ must not import test/');
    expect(ruleBroken('services/a/x.ts', 'package.json')).toBe('services/ must not import files at the repository root');
  });
});
