/**
 * What the commands that act on a running mesh share: where (`--gcp`, `--project`, `--stack`, else
 * the local mesh of `npm start`), and who runs them (recorded by every audited operation).
 */
import * as os from 'node:os';
import type { Command } from 'commander';
import type { MeshSpec } from '../../shared/spec';
import { gcpTarget, localTarget, type SmokeTarget } from '../smoke/target';

export interface TargetOptions {
  gcp?: boolean;
  project?: string;
  stack?: string;
}

export const targetOptions = (command: Command): Command =>
  command
    .option('--gcp', 'a deployed stack (application default credentials)')
    .option('--project <id>', 'GCP project (with --gcp)')
    .option('--stack <name>', 'Pulumi stack whose gcp:project to use (with --gcp)');

/** Who runs the command: MESH_OPERATOR, else the OS user; recorded with every step. */
export function operatorName(target: Pick<SmokeTarget, 'kind' | 'project'>): string {
  const user = process.env.MESH_OPERATOR ?? os.userInfo().username;
  return target.kind === 'gcp' ? `${user} (gcp ${target.project})` : `${user}@${os.hostname()}`;
}

export async function withTarget<T>(spec: MeshSpec, options: TargetOptions, work: (target: SmokeTarget) => Promise<T>): Promise<T> {
  const target = options.gcp ? await gcpTarget(spec, { project: options.project, stack: options.stack }) : await localTarget(spec);
  try {
    return await work(target);
  } finally {
    await target.close();
  }
}
