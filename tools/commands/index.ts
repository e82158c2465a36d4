/**
 * Every `mesh` sub-command; each module exports `register(program)`. MODULES maps each top-level
 * command name to the module that registers it, so that `mesh <command>` loads only that module:
 * all of them together load ~7,000 modules (Pulumi, DuckDB, ...), seconds of CPU before the command
 * does anything (`mesh status` on a busy mesh, `mesh query`). test/unit/cli-commands.test.ts keeps
 * the map and the modules in step.
 */
import type { Command } from 'commander';

export type Register = (program: Command) => void;

const lazy = (load: () => Promise<{ register: Register }>) => async () => (await load()).register;

/** Top-level command name -> its module's register, loaded on demand, in `mesh --help` order. */
export const MODULES: Record<string, () => Promise<Register>> = {
  validate: lazy(() => import('./validate')),
  apply: lazy(() => import('./apply')),
  up: lazy(() => import('./up')),
  doctor: lazy(() => import('./doctor')),
  plan: lazy(() => import('./plan')),
  load: lazy(() => import('./load')),
  query: lazy(() => import('./query')),
  status: lazy(() => import('./status')),
  'dead-letters': lazy(() => import('./dead-letters')),
  smoke: lazy(() => import('./smoke')),
  parity: lazy(() => import('./parity')),
  faults: lazy(() => import('./faults')),
  replay: lazy(() => import('./replay')),
  audit: lazy(() => import('./audit')),
  pause: lazy(() => import('./pause')),
  resume: lazy(() => import('./pause')),
  runbooks: lazy(() => import('./runbooks')),
  canary: lazy(() => import('./canary')),
  schema: lazy(() => import('./schema')),
  catalog: lazy(() => import('./catalog')),
  readiness: lazy(() => import('./readiness')),
};

/** The register functions of the named commands (all when none is named), each module once. */
export async function loadCommands(names: string[] = Object.keys(MODULES)): Promise<Register[]> {
  const registers = await Promise.all(names.map((name) => MODULES[name]()));
  return [...new Set(registers)];
}
