/**
 * The propagation wait's provider (infra/propagation.ts): create really sleeps the configured time,
 * only new triggers make it run again, and the text Pulumi serializes into the state still does.
 */
import * as pulumi from '@pulumi/pulumi';
import { IAM_PROPAGATION_SECONDS, propagationProvider } from '../../infra/propagation';

const inputs = (seconds: number, triggers = ['roles/bigquery.dataEditor on ds.t']) => ({ seconds, reason: 'test', triggers });

describe('create', () => {
  afterEach(() => jest.useRealTimers());

  it('resolves only after the configured duration', async () => {
    jest.useFakeTimers();
    let done = false;
    const created = propagationProvider.create(inputs(IAM_PROPAGATION_SECONDS)).then((result) => {
      done = true;
      return result;
    });
    await jest.advanceTimersByTimeAsync(IAM_PROPAGATION_SECONDS * 1000 - 1);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    expect((await created).outs).toEqual(inputs(IAM_PROPAGATION_SECONDS));
  });

  it('does not wait on update or delete', async () => {
    jest.useFakeTimers();
    await expect(propagationProvider.update!('id', inputs(90), inputs(120))).resolves.toEqual({ outs: inputs(120) });
    await expect(propagationProvider.delete!('id', inputs(90))).resolves.toBeUndefined();
  });
});

describe('diff', () => {
  it('replaces (so waits again) when the triggers change, and only then', async () => {
    expect(await propagationProvider.diff!('id', inputs(90), inputs(90))).toMatchObject({ changes: false, replaces: [] });
    expect(await propagationProvider.diff!('id', inputs(90), inputs(90, ['a', 'b']))).toMatchObject({ changes: true, replaces: ['triggers'] });
    expect(await propagationProvider.diff!('id', inputs(90), inputs(30))).toMatchObject({ changes: true, replaces: [] });
  });
});

describe('the serialized provider (what `pulumi up` runs)', () => {
  it('is self-contained and still waits', async () => {
    const { text } = await pulumi.runtime.serializeFunction(() => propagationProvider);
    const module = { exports: {} as { handler: () => typeof propagationProvider } };
    // Evaluates the serialized provider as Pulumi's engine does with the text it is sent.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    new Function('exports', 'module', 'require', text)(module.exports, module, require);
    const provider = module.exports.handler();
    const started = Date.now();
    const result = await provider.create(inputs(0.2));
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(result.outs).toEqual(inputs(0.2));
  });
});
