/** The spec's `alerts` section: the order-anomaly alert's threshold and window, their defaults and limits. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LIMITS, MeshSpecError } from '../../shared/spec';
import { defaultSpec, REPO_ROOT, specFromText } from '../support/specs';

const base = fs.readFileSync(path.join(REPO_ROOT, 'mesh.yaml'), 'utf8');
const withAlerts = (yaml: string) => `${base}\nalerts:\n${yaml}\n`;

function issuesOf(text: string): string[] {
  try {
    specFromText(text);
  } catch (error) {
    if (error instanceof MeshSpecError) return error.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
    throw error;
  }
  throw new Error('spec was accepted');
}
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('alerts.anomalies', () => {
  it('defaults without the section: on, any anomaly within 5 minutes', () => {
    expect(base).not.toMatch(/^alerts:/m);
    expect(defaultSpec().alerts).toEqual({
      anomalies: { enabled: true, threshold: 0, windowSeconds: 300 },
      parity: { enabled: true, staleAfterSeconds: 10800 },
    });
    // The scheduled parity run's defaults (infra/parity.ts): hourly, the last day, hour windows, 5 min settle.
    expect(defaultSpec().parity).toEqual({ schedule: '0 * * * *', sinceSeconds: 86400, granularity: 'hour', settleSeconds: 300 });
    expect(specFromText(withAlerts('  anomalies: {}')).alerts.anomalies).toEqual({ enabled: true, threshold: 0, windowSeconds: 300 });
  });

  it('reads a threshold, a window and enabled', () => {
    expect(specFromText(withAlerts('  anomalies: { threshold: 10, window: 1h }')).alerts.anomalies).toEqual({
      enabled: true,
      threshold: 10,
      windowSeconds: 3600,
    });
    expect(specFromText(withAlerts('  anomalies: { enabled: false }')).alerts.anomalies.enabled).toBe(false);
  });

  it('refuses what Cloud Monitoring would, at its line', () => {
    expect(LIMITS.anomalyAlertWindowSeconds).toEqual([60, 86400]);
    for (const window of ['30s', '90s', '2d']) {
      const text = withAlerts(`  anomalies: { window: ${window} }`);
      expect(issuesOf(text)).toEqual([
        `${lineOf(text, `window: ${window}`)}:${text.split('\n')[lineOf(text, `window: ${window}`) - 1].indexOf('window') + 1} alerts.anomalies.window: must be whole minutes from 1m to 1d (the alert condition's alignment period)`,
      ]);
    }
    expect(issuesOf(withAlerts('  anomalies: { threshold: -1 }'))[0]).toMatch(/alerts\.anomalies\.threshold: /);
    expect(issuesOf(withAlerts('  anomalies: { threshold: 1.5 }'))[0]).toMatch(/alerts\.anomalies\.threshold: /);
    expect(issuesOf(withAlerts('  anomalies: { severity: high }'))[0]).toMatch(/alerts\.anomalies\.severity: unknown key "severity"/);
    expect(issuesOf(withAlerts('  lag: {}'))[0]).toMatch(/alerts\.lag: unknown key "lag"/);
  });
});
