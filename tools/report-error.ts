/**
 * What the CLI prints when a command fails: a spec with errors gets its one-line-per-issue list, any
 * other UserError one line (where: message; hint) with no stack, and anything else is a bug: its stack.
 */
import { UserError } from '../shared/errors';
import { MeshSpecError } from '../shared/spec';

export function describeFailure(error: unknown): string {
  if (error instanceof MeshSpecError) return error.message;
  if (error instanceof UserError) return `mesh: ${error.format()}`;
  if (error instanceof Error) return `mesh: unexpected error (a bug; please report it with this output):\n${error.stack ?? error.message}`;
  return `mesh: unexpected error (a bug; please report it with this output): ${String(error)}`;
}
