/**
 * The runbooks: one per kind of alert, generated from the spec into docs/runbooks/ (tools/runbooks)
 * and named by each alert's documentation in GCP (infra), so the page an on-call person opens says
 * what fired, for which consumer, and the commands to diagnose and act.
 */
export const RUNBOOK_KINDS = ['lag', 'dead-letters', 'buffer', 'anomalies', 'parity'] as const;
export type RunbookKind = (typeof RUNBOOK_KINDS)[number];

/** Where a runbook lives, from the repository root. */
export const runbookPath = (kind: RunbookKind) => `docs/runbooks/${kind}.md`;

/** The line every alert's documentation ends with: which runbook to open. */
export const runbookLine = (kind: RunbookKind) =>
  `Runbook: \`${runbookPath(kind)}\` in the mesh's repository (written from the spec by \`npm run mesh -- runbooks\`): what to check and what to run.`;

/**
 * The runbooks a consumer's alerts name, whatever its delivery: infra/monitoring.ts (lag, dead
 * letters), buffer-alerts.ts (buffer), triage-alerts.ts and schema-dead-letters.ts (dead letters),
 * signal-alerts.ts (lag, buffer). The launch checklist (shared/readiness) requires each of them;
 * test/infra/launch-readiness.test.ts fails when a consumer's alert names a runbook not listed here.
 */
export const CONSUMER_ALERT_RUNBOOKS: readonly RunbookKind[] = ['lag', 'dead-letters', 'buffer'];
