/**
 * `mesh schema`: the governance of topic schemas (docs/schemas.md). `check` runs every gate and is
 * part of CI; `readiness` shows each consumer's readiness for a revision; `accept` and `approve`
 * write the records the gates read; `retire` stops producers sending the oldest accepted revision.
 */
import type { Command } from 'commander';
import { consumerReadiness, formatGovernanceIssue, schemaGovernanceIssues } from '../../shared/governance';
import { loadSpec, type MeshSpec } from '../../shared/spec';
import { eventsTableName } from '../../shared/warehouse/schema';
import { UserError } from '../../shared/errors';
import { serviceEventChecks } from '../schema/event-checks';
import { acceptRevision, approveRevision } from '../schema/revision-records';
import { retireRevision } from '../schema/retire';
import { printTable } from '../table';
import { warehouseClient } from './query';

export function register(program: Command): void {
  const schema = program.command('schema').description('schema governance: check the gates, consumer readiness, accept, approve and retire revisions');
  const spec = (): MeshSpec => loadSpec(program.opts().spec);

  schema
    .command('check')
    .description('every schema gate: compatibility mode, deprecation window, revision lock, approvals, consumer readiness; exits 1 on any issue')
    .option('--topic <name>', 'only this topic')
    .action((options: { topic?: string }) => {
      const mesh = spec();
      const issues = schemaGovernanceIssues(mesh, { checkFor: serviceEventChecks(mesh), topics: options.topic ? [options.topic] : undefined });
      for (const issue of issues) console.log(formatGovernanceIssue(issue));
      const topics = options.topic ? [options.topic] : Object.keys(mesh.topics);
      if (issues.length) {
        process.exitCode = 1;
        console.log(`${issues.length} schema issue${issues.length === 1 ? '' : 's'} (docs/schemas.md says how each rule works)`);
      } else console.log(`schemas ok: ${topics.map((t) => `${t} ${mesh.topics[t].schema.accept.first}..${mesh.topics[t].schema.accept.last}`).join(', ')}`);
    });

  schema
    .command('readiness')
    .description("each consumer of TOPIC: does it declare REVISION, do its decoder and its service's checks take samples of it")
    .argument('<topic>')
    .argument('<revision>')
    .action((topic: string, revision: string) => {
      const mesh = spec();
      const rows = consumerReadiness(mesh, topic, revision, serviceEventChecks(mesh));
      printTable(
        ['consumer', 'ready', 'declares', 'samples', 'problems'],
        rows.map((r) => [r.consumer, r.ready ? 'yes' : 'NO', r.declared ? 'yes' : 'no', String(r.samples), r.problems.join('; ') || '-']),
      );
      if (rows.some((r) => !r.ready)) process.exitCode = 1;
    });

  schema
    .command('accept')
    .description('lock REVISION (its sha256 and today) in the schema folder once every other gate of the topic passes')
    .argument('<topic>')
    .argument('<revision>')
    .action((topic: string, revision: string) => {
      const mesh = spec();
      const result = acceptRevision(mesh, topic, revision, { checkFor: serviceEventChecks(mesh) });
      if (!result.accepted) {
        for (const issue of result.issues) console.log(formatGovernanceIssue(issue));
        throw new UserError(`${topic} ${revision} is not accepted: ${result.issues.length} issue${result.issues.length === 1 ? '' : 's'} above`);
      }
      console.log(`${topic} ${revision} accepted (${result.day}); commit the lock file with the revision`);
    });

  schema
    .command('approve')
    .description("record NAME's approval of REVISION as it is now (topics with approval in the spec)")
    .argument('<topic>')
    .argument('<revision>')
    .requiredOption('--by <name>', "the approver, as listed in the topic's approval.approvers")
    .action((topic: string, revision: string, options: { by: string }) => {
      approveRevision(spec(), topic, revision, options.by);
      console.log(`${topic} ${revision} approved by ${options.by}; commit the approvals file with the revision`);
    });

  schema
    .command('retire')
    .description("stop producers sending the topic's oldest accepted revision (moves accept.first in the spec)")
    .argument('<topic>')
    .argument('<revision>')
    .option('--gcp', "ask BigQuery in GCP whether it was still published (default: the local mesh's warehouse)")
    .action(async (topic: string, revision: string, options: { gcp?: boolean }) => {
      const mesh = spec();
      const result = await retireRevision(mesh, topic, revision, async (topicName, rev, since) => {
        const { bigquery, project } = await warehouseClient(mesh, options.gcp === true);
        const [rows] = await bigquery.query({
          query: `SELECT COUNT(*) AS n FROM \`${project}.${mesh.warehouse.dataset}.${eventsTableName(topicName)}\` WHERE schema_version = @revision AND publish_time >= @since`,
          params: { revision: rev, since: since.toISOString() },
          types: { since: 'TIMESTAMP' },
        });
        return Number((rows[0] as { n: unknown }).n);
      });
      console.log(`${topic} now accepts ${result.first}..${result.last} (${mesh.file}); deploy it, and producers on ${revision} are refused`);
    });
}
