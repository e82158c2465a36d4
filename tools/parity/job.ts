/**
 * Entry of the parity job's image (tools/Dockerfile, CMD): one run against the deployed stack, from
 * the environment infra/parity.ts sets (GOOGLE_CLOUD_PROJECT, MESH_SPEC), with application default
 * credentials (the job's own account). What a run does and its exit code: job-run.ts.
 */
import { MetricServiceClient } from '@google-cloud/monitoring';
import { PARITY_JOB_ENV } from '../../shared/parity';
import { loadSpec } from '../../shared/spec';
import { gcpTarget } from '../smoke/target';
import { runParityJob, type LogLine } from './job-run';

async function main(): Promise<void> {
  const log = (line: LogLine) => process.stdout.write(`${JSON.stringify(line)}\n`);
  const spec = loadSpec(process.env[PARITY_JOB_ENV.spec]);
  const target = await gcpTarget(spec, { project: process.env[PARITY_JOB_ENV.project] });
  const metrics = new MetricServiceClient({ projectId: target.project });
  try {
    await runParityJob({ spec, target, metrics, log });
  } finally {
    await metrics.close();
    await target.close();
  }
}

main().catch((error: Error) => {
  process.stdout.write(`${JSON.stringify({ severity: 'ERROR', message: `parity run failed: ${error.message}`, stack: error.stack })}\n`);
  process.exit(1);
});
