/**
 * Parity as a running control in GCP (docs/parity.md): Cloud Scheduler starts a Cloud Run job on the
 * spec's `parity.schedule`; each execution runs tools/parity/job.ts, which compares the sinks and
 * writes `parity_results`, `parityLatest` and one point per topic of PARITY_METRIC_TYPE; an alert
 * policy from `alerts.parity` fires on a mismatch, and when no run has reported for `staleAfter`.
 *
 * A job rather than an endpoint of a service: it runs as its own account (the services never get
 * to read the other sinks or write metrics), an execution is bounded by its own timeout and retried
 * on its own, and `gcloud run jobs execute mesh-parity` runs one by hand.
 *
 * Identities, each holding only what it uses:
 * - the job's runtime account: parityJobGrants (profiles.ts);
 * - the scheduler's account: roles/run.invoker on this one job. Executing a job is run.jobs.run,
 *   which Cloud Run Invoker holds, granted on the job ("Cloud Run Invoker (roles/run.invoker) on the
 *   Cloud Run job", https://cloud.google.com/run/docs/execute/jobs#required-roles).
 * Scheduler calls the Cloud Run Admin API (jobs.run, POST https://run.googleapis.com/v2/{name}:run)
 * with an OAuth access token of that account: Google APIs on *.googleapis.com take OAuth tokens, OIDC
 * tokens are for endpoints such as a service's own URL (https://cloud.google.com/scheduler/docs/http-target-auth).
 * Scheduler's own service agent mints that token; it holds roles/cloudscheduler.serviceAgent from
 * the moment the API is enabled (same page), so nothing is granted to it here.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import {
  PARITY_JOB_ENV,
  PARITY_JOB_NAME,
  PARITY_METRIC_LABELS,
  PARITY_METRIC_RESOURCE,
  PARITY_METRIC_TYPE,
  parityConsumers,
  runsScheduledParity,
} from '../shared/parity';
import { formatDuration, toProtoDuration } from '../shared/spec';
import { labelValue, meshLabels, resourceOptions } from './context';
import { accountId, bindGrants, memberOf, type GrantTargets } from './iam';
import { specPathInImage } from './images';
import { alertChannelsFor, topicOwners, type AlertingContext } from './owners';
import { parityJobGrants } from './profiles';
import { runbookLine } from '../shared/operations/runbooks';

/** One execution compares up to a month of windows: half an hour is ample, and bounds a stuck run. */
export const PARITY_JOB_TIMEOUT_SECONDS = 1800;
/** A failed execution is retried once by Cloud Run; Scheduler does not retry on top of it. */
export const PARITY_JOB_MAX_RETRIES = 1;
/** The alert's alignment period: each run writes one point, so any period shorter than the schedule works. */
const ALIGNMENT_SECONDS = 300;

export interface MeshParity {
  account: gcp.serviceaccount.Account;
  job: gcp.cloudrunv2.Job;
  schedulerAccount: gcp.serviceaccount.Account;
  scheduler: gcp.cloudscheduler.Job;
  metric: gcp.monitoring.MetricDescriptor;
  /** Absent when `alerts.parity.enabled` is false: the metric is still written, for charts. */
  alertPolicy?: gcp.monitoring.AlertPolicy;
}

/** The URL Scheduler POSTs to: the Admin API's jobs.run of this job. */
export const jobRunUri = (project: pulumi.Input<string>, region: string, job: pulumi.Input<string>) =>
  pulumi.interpolate`https://run.googleapis.com/v2/projects/${project}/locations/${region}/jobs/${job}:run`;

/** The alert's (and a chart's) filter on the metric. */
export const parityMetricFilter = () => `metric.type = "${PARITY_METRIC_TYPE}" AND resource.type = "${PARITY_METRIC_RESOURCE}"`;

/**
 * Nothing when the spec says `parity.schedule: off` or no topic has a warehouse consumer to compare
 * against. `targets` must hold the dataset, its tables and the dead-letter holds.
 */
export function createParityControl(ctx: AlertingContext, image: pulumi.Input<string> | undefined, targets: Partial<GrantTargets>): MeshParity | undefined {
  const { schedule } = ctx.spec.parity;
  if (schedule === undefined || !runsScheduledParity(ctx.spec)) return undefined;
  if (!image) throw new Error('the parity job needs an image (built from tools/Dockerfile, or event-mesh:images.mesh-parity)');
  const { project, region } = ctx.config;

  const account = new gcp.serviceaccount.Account(
    'parity-sa',
    {
      project,
      accountId: accountId('mesh-parity'),
      displayName: 'Event mesh parity job (runtime)',
      description: 'Compares the sinks on a schedule; reads them, writes only parity results.',
    },
    resourceOptions(ctx),
  );
  const grants = bindGrants(ctx, 'parity-sa', memberOf(account), parityJobGrants(ctx.spec), targets);

  const job = new gcp.cloudrunv2.Job(
    'parity-job',
    {
      project,
      location: region,
      name: PARITY_JOB_NAME,
      deletionProtection: ctx.config.deletionProtection,
      labels: meshLabels({ 'mesh-role': 'parity' }),
      template: {
        taskCount: 1,
        parallelism: 1,
        template: {
          serviceAccount: account.email,
          maxRetries: PARITY_JOB_MAX_RETRIES,
          timeout: toProtoDuration(PARITY_JOB_TIMEOUT_SECONDS),
          containers: [
            {
              image,
              envs: [
                { name: PARITY_JOB_ENV.project, value: project },
                { name: PARITY_JOB_ENV.spec, value: specPathInImage(ctx.spec) },
              ],
              resources: { limits: { cpu: '1', memory: '1Gi' } },
            },
          ],
        },
      },
    },
    // Never runs before its grants exist (IAM may still take minutes to propagate: a run that fails
    // on it exits 1, is retried once, and the next schedule tries again).
    resourceOptions(ctx, ...grants),
  );

  const schedulerAccount = new gcp.serviceaccount.Account(
    'parity-scheduler-sa',
    {
      project,
      accountId: accountId('mesh-parity-scheduler'),
      displayName: 'Event mesh parity schedule',
      description: `Cloud Scheduler starts ${PARITY_JOB_NAME} as this account; it may run that job only.`,
    },
    resourceOptions(ctx),
  );
  const invoker = new gcp.cloudrunv2.JobIamMember(
    'parity-scheduler-run-invoker',
    { project, location: region, name: job.name, role: 'roles/run.invoker', member: memberOf(schedulerAccount) },
    resourceOptions(ctx, job),
  );
  const scheduler = new gcp.cloudscheduler.Job(
    'parity-schedule',
    {
      project,
      region,
      name: PARITY_JOB_NAME,
      description: `Runs ${PARITY_JOB_NAME}: do the sinks tell the same story? (docs/parity.md)`,
      schedule,
      timeZone: 'Etc/UTC',
      // The call only starts an execution; it answers at once.
      attemptDeadline: '180s',
      retryConfig: { retryCount: 0 },
      httpTarget: {
        httpMethod: 'POST',
        uri: jobRunUri(project, region, job.name),
        oauthToken: { serviceAccountEmail: schedulerAccount.email, scope: 'https://www.googleapis.com/auth/cloud-platform' },
      },
    },
    resourceOptions(ctx, invoker),
  );

  // Declared, not left to the first write: an alert policy on a metric Monitoring does not know yet is refused.
  const metric = new gcp.monitoring.MetricDescriptor(
    'parity-metric',
    {
      project,
      type: PARITY_METRIC_TYPE,
      metricKind: 'GAUGE',
      valueType: 'INT64',
      unit: '1',
      displayName: 'Event mesh parity mismatches',
      description: 'Checks of a topic on which a sink disagrees with the warehouse, as of the latest parity run (0: every sink agrees).',
      labels: PARITY_METRIC_LABELS.map((key) => ({ key, valueType: 'STRING', description: 'the topic compared' })),
    },
    resourceOptions(ctx),
  );
  const settings = ctx.spec.alerts.parity;
  if (!settings.enabled) return { account, job, schedulerAccount, scheduler, metric };

  const filter = metric.type.apply(() => parityMetricFilter());
  const stale = formatDuration(settings.staleAfterSeconds);
  const alertPolicy = new gcp.monitoring.AlertPolicy(
    'parity',
    {
      project,
      displayName: 'Event mesh: sinks disagree (parity)',
      combiner: 'OR',
      severity: 'ERROR',
      conditions: [
        {
          displayName: 'a parity run found a sink that disagrees with the warehouse',
          conditionThreshold: {
            filter,
            comparison: 'COMPARISON_GT',
            thresholdValue: 0,
            duration: '0s',
            aggregations: [
              {
                alignmentPeriod: toProtoDuration(ALIGNMENT_SECONDS),
                perSeriesAligner: 'ALIGN_MAX',
                crossSeriesReducer: 'REDUCE_MAX',
                groupByFields: PARITY_METRIC_LABELS.map((key) => `metric.label.${key}`),
              },
            ],
            trigger: { count: 1 },
            // One point per run: between runs there is no data, and the incident stays as the last run
            // left it; it closes when a run writes 0 for the topic.
            evaluationMissingData: 'EVALUATION_MISSING_DATA_NO_OP',
          },
        },
        {
          displayName: `no parity result for ${stale}`,
          conditionAbsent: {
            filter,
            duration: toProtoDuration(settings.staleAfterSeconds),
            aggregations: [{ alignmentPeriod: toProtoDuration(ALIGNMENT_SECONDS), perSeriesAligner: 'ALIGN_MAX' }],
            trigger: { count: 1 },
          },
        },
      ],
      // One policy over every topic compared: the owners of all of them (and the stack's list).
      notificationChannels: alertChannelsFor(
        ctx,
        topicOwners(
          ctx.spec,
          parityConsumers(ctx.spec).map((c) => c.topic),
        ),
      ),
      documentation: { mimeType: 'text/markdown', content: `${parityAlertDocumentation(stale)}\n\n${runbookLine('parity')}` },
      userLabels: meshLabels({ 'mesh-signal': labelValue('parity') }),
    },
    resourceOptions(ctx, metric),
  );
  return { account, job, schedulerAccount, scheduler, metric, alertPolicy };
}

/** What the person paged reads. */
export function parityAlertDocumentation(stale: string): string {
  return [
    'The scheduled parity run found a sink (dashboard, processor or a dead-letter hold) telling another story than the warehouse, or no run has reported for ' +
      `${stale}. The incident's topic label names the topic.`,
    '',
    `The differences, with sample event ids: the dashboard's Parity panel, the latest rows of \`parity_results\` (\`SELECT * FROM <dataset>.parity_results WHERE verdict = 'mismatch' ORDER BY run_at DESC\`), or \`mesh parity --gcp\`.`,
    `No result: look at the executions of the Cloud Run job ${PARITY_JOB_NAME} and its logs. Runbook: docs/parity.md.`,
  ].join('\n');
}
