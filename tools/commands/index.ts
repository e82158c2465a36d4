/**
 * Every `mesh` sub-command; each module exports `register(program)`. MODULES maps each top-level
 * command name to the module that registers it, so that `mesh <command>` loads only that module:
 * all of them together load ~7,000 modules (Pulumi, DuckDB, ...), seconds of CPU before the command
 * does anything (`mesh status` on a busy mesh, `mesh query`). test/unit/cli-commands.test.ts keeps
 * the map and the modules in step.
 */
import type { Command } from 'commander';

export type Register = (program: Command) => void;

/**
 * `require`, not `import()`: `npm run mesh` runs under tsx's CommonJS hook (`node --require tsx/cjs`),
 * which starts in about half the time of its ESM loader (no loader thread), and import() of a .ts
 * file needs that loader.
 */
const lazy = (load: () => { register: Register }) => () => Promise.resolve(load().register);

/* eslint-disable @typescript-eslint/no-require-imports -- see `lazy` above */
/** Top-level command name -> its module's register, loaded on demand, in `mesh --help` order. */
export const MODULES: Record<string, () => Promise<Register>> = {
  validate: lazy(() => require('./validate')),
  apply: lazy(() => require('./apply')),
  up: lazy(() => require('./up')),
  doctor: lazy(() => require('./doctor')),
  plan: lazy(() => require('./plan')),
  load: lazy(() => require('./load')),
  query: lazy(() => require('./query')),
  status: lazy(() => require('./status')),
  'dead-letters': lazy(() => require('./dead-letters')),
  smoke: lazy(() => require('./smoke')),
  parity: lazy(() => require('./parity')),
  faults: lazy(() => require('./faults')),
  replay: lazy(() => require('./replay')),
  audit: lazy(() => require('./audit')),
  pause: lazy(() => require('./pause')),
  resume: lazy(() => require('./pause')),
  runbooks: lazy(() => require('./runbooks')),
  canary: lazy(() => require('./canary')),
  schema: lazy(() => require('./schema')),
  catalog: lazy(() => require('./catalog')),
  readiness: lazy(() => require('./readiness')),
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** The register functions of the named commands (all when none is named), each module once. */
export async function loadCommands(names: string[] = Object.keys(MODULES)): Promise<Register[]> {
  const registers = await Promise.all(names.map((name) => MODULES[name]()));
  return [...new Set(registers)];
}
