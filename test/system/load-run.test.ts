/**
 * `mesh load`'s run (tools/load/run.ts) against the Pub/Sub emulator: it sends the asked number at the
 * asked rate and counts what Pub/Sub acknowledged; a run that falls behind says why (the diagnosis
 * itself is checked with given measurements, since a slow machine cannot be produced on demand).
 */
import type { PubSub } from '@google-cloud/pubsub';
import { applyLocal } from '../../shared/local';
import { loadSpec, type MeshSpec } from '../../shared/spec';
import { DEFAULT_MIX } from '../../tools/load/traffic';
import { explainShortfall, runLoad } from '../../tools/load/run';
import { testPubSub, uniqueProject } from '../support/emulators';
import { REPO_ROOT } from '../support/specs';
import * as path from 'node:path';

let pubsub: PubSub;
let spec: MeshSpec;

beforeAll(async () => {
  spec = { ...loadSpec(path.join(REPO_ROOT, 'mesh.yaml')), project: uniqueProject('load-run') };
  pubsub = testPubSub(spec.project);
  await applyLocal({ pubsub, spec });
});
afterAll(() => pubsub.close());

it('sends the asked events at the asked rate, every one acknowledged by Pub/Sub', async () => {
  const progress: number[] = [];
  const report = await runLoad({ spec, pubsub, rate: 100, seconds: 2, mix: DEFAULT_MIX, seed: 7, onProgress: (p) => progress.push(p.sent) });
  expect(report.sent).toBe(200);
  expect(report.acked + report.errors).toBe(200);
  expect(report.errors).toBe(0);
  expect(report.counts.event + report.counts.duplicate + report.counts.poison).toBe(200);
  // Spread over the two seconds, not sent at once.
  expect(progress.some((sent) => sent > 0 && sent < 200)).toBe(true);
  expect(report.reached).toBe(true);
  expect(report.shortfall).toBeUndefined();
});

it('stops early when told, without calling that a shortfall', async () => {
  let ticks = 0;
  const report = await runLoad({ spec, pubsub, rate: 50, seconds: 60, mix: DEFAULT_MIX, seed: 8, stopped: () => ++ticks > 10 });
  expect(report.sent).toBeLessThan(3000);
  expect(report.acked + report.errors).toBe(report.sent);
});

it('explains a shortfall by the first cause its measurements show', () => {
  const base = { cpuShareOfOneCore: 0.3, eventLoopDelayP99Ms: 20, loadAverage: 0.5, cores: 2, peakInFlight: 40 };
  expect(explainShortfall(1000, 450, { ...base, cpuShareOfOneCore: 0.97 })).toMatch(
    /^sent 450\/s of the 1000\/s asked: this sender used 97 % of a core \(2\.16 ms of CPU a send\)/,
  );
  expect(explainShortfall(1000, 450, { ...base, loadAverage: 3.4 })).toMatch(/the machine is saturated \(load average 3\.4 on 2 cores/);
  expect(explainShortfall(1000, 450, { ...base, eventLoopDelayP99Ms: 450 })).toMatch(/event loop was delayed 450 ms at p99/);
  expect(explainShortfall(1000, 450, base)).toMatch(/Pub\/Sub acknowledged slowly \(up to 40 sends in flight\)/);
});
