/**
 * What a service loads at start-up is memory it holds for its whole life (issue 24: RSS per service;
 * docs/performance.md). The Cloud Monitoring client (only the dashboard in GCP reads it) and the
 * BigQuery client (only the warehouse and a canary's abort audit write with it) are required where
 * they are used, so a service that does not use them never loads them. Each app is loaded in a
 * fresh node as the services run (tsx's CommonJS hook), and its module cache is read.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as path from 'node:path';
import { createHealthSource } from '../../services/dashboard/health';
import { CloudMonitoringHealth } from '../../shared/health/cloud-monitoring';
import { loadSpec } from '../../shared/spec';
import { emulatorPubSub } from '../../shared/emulators';

const ROOT = path.join(__dirname, '..', '..');

async function packagesLoaded(app: string): Promise<Set<string>> {
  const script = `require('./services/${app}/app.ts');
const names = new Set(Object.keys(require.cache).map((k) => (k.match(/node_modules\\/((?:@[^/]+\\/)?[^/]+)/) ?? [])[1]).filter(Boolean));
process.stdout.write(JSON.stringify([...names]));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: ROOT, timeout: 60_000 });
  return new Set(JSON.parse(stdout) as string[]);
}

it.each(['dashboard', 'processor', 'warehouse'])(
  'the %s app loads neither the Monitoring nor the BigQuery client',
  async (app) => {
    const loaded = await packagesLoaded(app);
    expect(loaded.has('@google-cloud/pubsub')).toBe(true); // the check sees what is loaded
    expect(loaded.has('@google-cloud/monitoring')).toBe(false);
    expect(loaded.has('@google-cloud/bigquery')).toBe(false);
  },
  60_000,
);

it('the dashboard still reads Cloud Monitoring in GCP (the client required when asked for)', async () => {
  const spec = loadSpec(path.join(ROOT, 'mesh.yaml'));
  const pubsub = emulatorPubSub('127.0.0.1:1', spec.project);
  try {
    const source = createHealthSource({ spec, pubsub, projectId: spec.project, kind: 'cloud-monitoring' });
    expect(source).toBeInstanceOf(CloudMonitoringHealth);
    await (source as CloudMonitoringHealth).close();
  } finally {
    await pubsub.close();
  }
});
