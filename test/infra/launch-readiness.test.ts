/**
 * The launch checklist in the program and the pack (infra/launch-readiness.ts, the policy
 * high-impact-topic-launch-ready): the program labels each topic with its impact and a high-impact
 * one with the checklist's verdict; the pack refuses a high-impact topic that is not ready or carries
 * no verdict. Also: every alert of a consumer names a runbook the checklist requires.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { ResourceValidationArgs } from '@pulumi/policy';
import { IMPACT_LABEL, LAUNCH_CHECKLIST_LABEL, topicLaunchState } from '../../infra/launch-readiness';
import * as pack from '../../infra/policy/policies';
import { CONSUMER_ALERT_RUNBOOKS, runbookPath } from '../../shared/operations/runbooks';
import { SPEC_AND_REPO_ITEMS } from '../../shared/readiness';
import { loadSpec } from '../../shared/spec';
import { Mesh, REPO, runMesh, T } from './harness';

const UNREADY = path.join(REPO, 'test', 'unit', 'fixtures', 'launch-readiness', 'unready.yaml');

async function verdict(props: Record<string, unknown>, name = 'orders'): Promise<string[]> {
  const reported: string[] = [];
  const args = { type: T.topic, name, urn: `urn:${T.topic}::${name}`, props, opts: {}, getConfig: () => ({}) } as unknown as ResourceValidationArgs;
  for (const validate of [pack.highImpactTopicsLaunchReady.validateResource ?? []].flat()) await validate(args, (m) => reported.push(m));
  return reported;
}

describe('the program on mesh.yaml', () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await runMesh();
  });

  it('labels each topic with its impact, and the high-impact one with its launch checklist', () => {
    expect(mesh.one(T.topic, 'analytics').inputs.labels).toMatchObject({ [IMPACT_LABEL]: 'normal' });
    expect(mesh.one(T.topic, 'analytics').inputs.labels[LAUNCH_CHECKLIST_LABEL]).toBeUndefined();
    expect(mesh.one(T.topic, 'orders').inputs.labels).toMatchObject({
      [IMPACT_LABEL]: 'high',
      [LAUNCH_CHECKLIST_LABEL]: 'ready',
    });
  });

  it("names only runbooks the checklist requires in a consumer's alerts", () => {
    const consumerAlerts = mesh.all(T.alert).filter((a) => a.inputs.userLabels?.['mesh-consumer']);
    expect(consumerAlerts.length).toBeGreaterThan(0);
    const named = new Set(consumerAlerts.map((a) => /Runbook: `(docs\/runbooks\/[a-z-]+\.md)`/.exec(String(a.inputs.documentation?.content))?.[1]));
    expect([...named].sort()).toEqual(CONSUMER_ALERT_RUNBOOKS.map(runbookPath).sort());
  });
});

describe('a high-impact topic that misses every item', () => {
  const spec = loadSpec(UNREADY);
  const state = topicLaunchState(spec, spec.topics.orders, os.tmpdir());

  it('is labelled with every item the spec and the repository tell, in a label value', () => {
    expect(state.labels[LAUNCH_CHECKLIST_LABEL]).toBe('owner_compatibility-documented_alerts-routed_runbooks_recovery');
    expect(state.labels[LAUNCH_CHECKLIST_LABEL].split('_').sort()).toEqual([...SPEC_AND_REPO_ITEMS].sort());
    expect(state.labels[LAUNCH_CHECKLIST_LABEL].length).toBeLessThanOrEqual(63);
    expect(state.missing).toContain('consumer worker-orders: RTO/RPO declared: no recovery objectives');
  });

  it('is refused by the pack, naming what is not met', async () => {
    expect(await verdict({ name: 'orders', labels: state.labels })).toEqual([
      'high-impact topic orders is not launch ready: owner, compatibility-documented, alerts-routed, runbooks, recovery not met; run `npm run mesh -- readiness --topic orders` for what is missing and how to fix it',
    ]);
  });
});

describe('high-impact-topic-launch-ready', () => {
  it('passes a ready high-impact topic and any normal one', async () => {
    expect(await verdict({ name: 'orders', labels: { [IMPACT_LABEL]: 'high', [LAUNCH_CHECKLIST_LABEL]: 'ready' } })).toEqual([]);
    expect(await verdict({ name: 'analytics', labels: { [IMPACT_LABEL]: 'normal' } }, 'analytics')).toEqual([]);
    expect(await verdict({ name: 'other' }, 'other')).toEqual([]);
  });

  it('refuses a high-impact topic without a verdict', async () => {
    expect(await verdict({ name: 'orders', labels: { [IMPACT_LABEL]: 'high' } })).toEqual([
      'high-impact topic orders carries no mesh-launch-checklist label, so its launch checklist is unknown; run `npm run mesh -- readiness --topic orders` for what is missing and how to fix it',
    ]);
  });

  it('uses the labels the program writes', () => {
    expect([pack.IMPACT_LABEL, pack.LAUNCH_CHECKLIST_LABEL]).toEqual([IMPACT_LABEL, LAUNCH_CHECKLIST_LABEL]);
    expect(pack.policies).toContain(pack.highImpactTopicsLaunchReady);
  });
});
