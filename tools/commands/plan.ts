/**
 * `mesh plan`: every resource and IAM binding `pulumi up` would create for the spec, offline. It runs
 * the real Pulumi program (infra/index.ts) against Pulumi's mock engine (infra/offline-run.ts), so
 * the listing cannot drift from what is deployed; it needs neither the Pulumi CLI nor GCP access.
 * Stack config comes from Pulumi.<stack>.yaml when it exists (secrets are skipped).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { loadSpec } from '../../shared/spec';
import { REPO_ROOT } from '../../infra/config';
import { runProgramOffline, type MockedResource } from '../../infra/offline-run';
import { printTable } from '../table';
import { UserError } from '../../shared/errors';
import { formatGovernanceIssue, readinessIssues } from '../../shared/governance';
import { serviceEventChecks } from '../schema/event-checks';

export interface PlanRow {
  /** Short type, e.g. pubsub.Subscription. */
  type: string;
  /** The GCP name (or the target, for IAM bindings). */
  name: string;
  /** Key settings, human-readable. */
  settings: string;
}

export interface PlanOptions {
  specFile: string;
  /** Stack whose Pulumi.<stack>.yaml supplies config (default dev; missing file = defaults). */
  stack?: string;
  /** Explicit stack file instead of <repo>/Pulumi.<stack>.yaml. */
  stackFile?: string;
  /** Extra config, fully qualified keys; wins over the stack file. */
  config?: Record<string, unknown>;
}

export interface Plan {
  rows: PlanRow[];
  /** Config the program ran with, and notes (skipped secrets, missing stack file). */
  config: Record<string, unknown>;
  notes: string[];
}

/** Shown instead of the project number, which only GCP knows. */
export const PROJECT_NUMBER_PLACEHOLDER = 'PROJECT_NUMBER';

export async function planMesh(options: PlanOptions): Promise<Plan> {
  const specFile = path.resolve(options.specFile);
  const spec = loadSpec(specFile); // a bad spec fails here with the loader's messages
  // A topic accepting a revision one of its readers cannot read would let producers go ahead of it.
  const notReady = Object.keys(spec.topics).flatMap((topic) => readinessIssues(spec, topic, serviceEventChecks(spec)));
  if (notReady.length)
    throw new UserError(
      `not planned: ${notReady.length} consumer readiness issue${notReady.length === 1 ? '' : 's'} (mesh schema readiness TOPIC REVISION shows each consumer):\n${notReady.map(formatGovernanceIssue).join('\n')}`,
    );
  const stack = options.stack ?? 'dev';
  const stackFile = options.stackFile ?? path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
  const notes: string[] = [];
  const config: Record<string, unknown> = {};
  if (fs.existsSync(stackFile)) {
    const document = (parse(fs.readFileSync(stackFile, 'utf8')) ?? {}) as { config?: Record<string, unknown> };
    for (const [key, value] of Object.entries(document.config ?? {})) {
      if (value && typeof value === 'object' && 'secure' in value) notes.push(`${key} is a secret and was left out`);
      else config[key] = value;
    }
  } else notes.push(`${path.relative(process.cwd(), stackFile)} not found: stack config defaults, project ${spec.project}`);
  config['gcp:project'] ??= spec.project;
  Object.assign(config, options.config, { 'event-mesh:specFile': specFile });

  let run;
  try {
    run = await runProgramOffline({ config, stack, projectNumber: PROJECT_NUMBER_PLACEHOLDER });
  } catch (error) {
    // Config problems come back as the program's RunError: show them like any user error.
    throw new UserError((error as Error).message, { cause: error });
  }
  const rows = run.resources.filter((r) => r.custom).map(toRow);
  rows.sort((a, b) => groupRank(a.type) - groupRank(b.type) || a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
  return { rows, config, notes };
}

/** gcp:pubsub/subscription:Subscription -> pubsub.Subscription; docker-build:index:Image -> docker-build.Image */
export function shortType(token: string): string {
  const [pkg, module, type] = token.split(':');
  const mod = module.split('/')[0];
  return pkg === 'gcp' ? `${mod}.${type}` : `${pkg}.${type}`;
}

const GROUPS = [
  'projects.Service',
  'pubsub.',
  'serviceaccount.',
  'cloudrunv2.',
  'docker-build.',
  'artifactregistry.',
  'bigquery.',
  'firestore.',
  'projects.',
  'logging.',
  'monitoring.',
];
const groupRank = (type: string) => {
  const index = GROUPS.findIndex((g) => (g.endsWith('.') ? type.startsWith(g) : type === g));
  return index < 0 ? GROUPS.length : index;
};

const isIam = (type: string) => /iam(member|binding|policy)/i.test(type);
const seconds = (value?: string) => value ?? '-';

function toRow(resource: MockedResource): PlanRow {
  const type = shortType(resource.type);
  const p = resource.inputs;
  if (isIam(resource.type)) {
    const target =
      p.subscription ??
      p.topic ??
      (p.tableId ? `table ${p.datasetId}.${p.tableId}` : undefined) ??
      (p.datasetId ? `dataset ${p.datasetId}` : undefined) ??
      (p.serviceAccountId ? `account ${p.serviceAccountId}` : undefined) ??
      (p.name ? `${/cloudrunv2\/job/.test(resource.type) ? 'job' : 'service'} ${p.name}` : `project ${p.project}`);
    return { type, name: lastSegment(String(target)), settings: `${p.role} -> ${p.member}` };
  }
  const name = String(
    p.name ??
      p.accountId ??
      p.tableId ??
      p.datasetId ??
      p.repositoryId ??
      p.service ??
      (p.collection ? `${p.collection}.${p.field}` : undefined) ??
      p.displayName ??
      resource.name,
  );
  return { type, name: lastSegment(name), settings: settingsOf(resource.type, p).filter(Boolean).join('; ') };
}

const lastSegment = (text: string) => (text.startsWith('projects/') ? text.split('/').slice(-1)[0] : text);

function settingsOf(type: string, p: Record<string, any>): (string | false | undefined)[] {
  switch (type) {
    case 'gcp:projects/service:Service':
      return [`enable ${p.service}`];
    case 'pulumi-nodejs:dynamic:Resource': // infra/propagation.ts (the serialized provider is not shown)
      return [`wait ${p.seconds}s`, p.reason, `covers ${(p.triggers ?? []).join(', ')}`];
    case 'gcp:projects/serviceIdentity:ServiceIdentity':
      return [`service agent of ${p.service}`];
    case 'gcp:pubsub/schema:Schema': {
      const record = JSON.parse(p.definition) as { name: string; namespace?: string; fields: unknown[] };
      return [`${p.type} ${record.namespace ? `${record.namespace}.` : ''}${record.name}`, `${record.fields.length} fields`];
    }
    case 'gcp:pubsub/topic:Topic':
      return [
        p.schemaSettings && `schema ${lastSegment(p.schemaSettings.schema)} (${p.schemaSettings.encoding})`,
        p.messageRetentionDuration && `retention ${p.messageRetentionDuration}`,
        p.labels?.['mesh-role'],
      ];
    case 'gcp:pubsub/subscription:Subscription':
      return [
        `topic ${lastSegment(p.topic)}`,
        p.pushConfig
          ? `push ${p.pushConfig.pushEndpoint} (oidc ${p.pushConfig.oidcToken?.serviceAccountEmail ?? 'none'}, aud ${p.pushConfig.oidcToken?.audience ?? '-'})`
          : p.bigqueryConfig
            ? `bigquery ${p.bigqueryConfig.table}${p.bigqueryConfig.writeMetadata ? ' +metadata' : ''}`
            : 'pull',
        `ack ${p.ackDeadlineSeconds}s`,
        p.retryPolicy && `retry ${p.retryPolicy.minimumBackoff}..${p.retryPolicy.maximumBackoff}`,
        p.deadLetterPolicy && `dlq ${lastSegment(p.deadLetterPolicy.deadLetterTopic)} after ${p.deadLetterPolicy.maxDeliveryAttempts}`,
        p.enableMessageOrdering && 'ordered',
        p.enableExactlyOnceDelivery && 'exactly-once',
        p.filter && `filter ${p.filter}`,
        p.retainAckedMessages && 'retain acked',
        p.messageRetentionDuration && `retention ${p.messageRetentionDuration}`,
        p.expirationPolicy?.ttl === '' && 'never expires',
      ];
    case 'gcp:serviceaccount/account:Account':
      return [p.displayName];
    case 'gcp:cloudrunv2/service:Service': {
      const t = p.template ?? {};
      const c = t.containers?.[0] ?? {};
      return [
        `image ${c.image}`,
        `runs as ${t.serviceAccount}`,
        `ingress ${p.ingress}`,
        `concurrency ${t.maxInstanceRequestConcurrency}`,
        `instances ${t.scaling?.minInstanceCount}..${t.scaling?.maxInstanceCount}`,
        c.resources?.cpuIdle === false ? 'cpu always allocated' : 'cpu during requests',
        `timeout ${seconds(t.timeout)}`,
        p.deletionProtection ? 'deletion protected' : undefined,
      ];
    }
    case 'docker-build:index:Image':
      return [`build ${p.dockerfile?.location}${p.buildArgs?.SERVICE ? ` SERVICE=${p.buildArgs.SERVICE}` : ''}`, `push ${p.tags?.[0]}`];
    case 'gcp:cloudrunv2/job:Job': {
      const t = p.template?.template ?? {};
      return [`image ${t.containers?.[0]?.image}`, `runs as ${t.serviceAccount}`, `retries ${t.maxRetries}`, `timeout ${seconds(t.timeout)}`];
    }
    case 'gcp:cloudscheduler/job:Job': {
      const h = p.httpTarget ?? {};
      const token = h.oauthToken ? `OAuth as ${h.oauthToken.serviceAccountEmail}` : h.oidcToken ? `OIDC as ${h.oidcToken.serviceAccountEmail}` : 'no token';
      return [`${p.schedule} (${p.timeZone})`, `${h.httpMethod} ${h.uri}`, token];
    }
    case 'gcp:artifactregistry/repository:Repository':
      return [`${p.format} in ${p.location}`];
    case 'gcp:bigquery/dataset:Dataset':
      return [`location ${p.location}`, p.deleteContentsOnDestroy ? 'contents deleted on destroy' : 'kept on destroy'];
    case 'gcp:bigquery/table:Table':
      if (p.view) return [`view: ${String(p.view.query).replace(/\s+/g, ' ')}`];
      return [
        `${JSON.parse(p.schema ?? '[]').length} columns`,
        p.timePartitioning && `partitioned ${p.timePartitioning.type} on ${p.timePartitioning.field}`,
        p.clusterings?.length && `clustered by ${p.clusterings.join(', ')}`,
        p.deletionProtection ? 'deletion protected' : undefined,
      ];
    case 'gcp:firestore/database:Database':
      return [`${p.type} in ${p.locationId}`, `deletionPolicy ${p.deletionPolicy}`];
    case 'gcp:firestore/field:Field':
      return [p.ttlConfig && 'TTL policy', p.indexConfig && 'not indexed'];
    case 'gcp:monitoring/alertPolicy:AlertPolicy': {
      const c = p.conditions?.[0]?.conditionThreshold ?? {};
      const channels = `${p.notificationChannels?.length ?? 0} channels`;
      // A log-based metric (infra/anomalies.ts): summed per window and group, not per subscription.
      const logMetric = /logging\.googleapis\.com\/user\/([^"]+)"/.exec(c.filter ?? '')?.[1];
      if (logMetric) {
        const a = c.aggregations?.[0] ?? {};
        return [`${logMetric} by ${(a.groupByFields ?? []).join(', ')} > ${c.thresholdValue} within ${a.alignmentPeriod}`, channels];
      }
      // The parity metric (infra/parity.ts): a mismatch, or no result for a while.
      const custom = /metric\.type = "(custom\.googleapis\.com\/[^"]+)"/.exec(c.filter ?? '')?.[1];
      if (custom) {
        const absent = p.conditions?.find((x: { conditionAbsent?: unknown }) => x.conditionAbsent)?.conditionAbsent;
        return [`${custom} > ${c.thresholdValue}`, absent && `or absent for ${absent.duration}`, channels];
      }
      // A Pub/Sub metric of a subscription or a topic (publish failures: infra/signal-alerts.ts).
      const resource = /(?:subscription|topic)_id = "([^"]+)"/.exec(c.filter ?? '')?.[1];
      const metric = /(?:subscription|topic)\/([a-z_]+)"/.exec(c.filter ?? '')?.[1];
      return [`${resource} ${metric} > ${c.thresholdValue} for ${c.duration}`, channels];
    }
    case 'gcp:logging/metric:Metric':
      return [`counts ${p.filter}`, `labels ${Object.keys(p.labelExtractors ?? {}).join(', ')}`];
    case 'gcp:monitoring/dashboard:Dashboard': {
      const d = JSON.parse(p.dashboardJson) as { displayName: string; mosaicLayout: { tiles: unknown[] } };
      return [d.displayName, `${d.mosaicLayout.tiles.length} charts`];
    }
    default:
      return Object.entries(p)
        .filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v))
        .map(([k, v]) => `${k} ${v}`);
  }
}

export function register(program: Command): void {
  program
    .command('plan')
    .description('list every resource and IAM binding `pulumi up` would create for the spec (offline: runs the Pulumi program on mocks)')
    .option('--stack <name>', 'read stack config from Pulumi.<name>.yaml', 'dev')
    .option('--json', 'print the rows as JSON')
    .action(async (options: { stack: string; json?: boolean }) => {
      const plan = await planMesh({ specFile: program.opts().spec, stack: options.stack });
      if (options.json) {
        console.log(JSON.stringify(plan.rows, null, 2));
        return;
      }
      for (const note of plan.notes) console.log(`note: ${note}`);
      const groups = new Map<string, PlanRow[]>();
      for (const row of plan.rows) groups.set(row.type, [...(groups.get(row.type) ?? []), row]);
      for (const [type, rows] of groups) {
        console.log(`\n${type} (${rows.length})`);
        printTable(
          ['name', 'settings'],
          rows.map((r) => [r.name, r.settings]),
        );
      }
      console.log(
        `\n${plan.rows.length} resources (${plan.rows.filter((r) => isIam(r.type)).length} IAM bindings) for project ${String(plan.config['gcp:project'])}`,
      );
    });
}
