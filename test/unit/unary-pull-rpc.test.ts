/**
 * What the unary puller's client (shared/consumer/subscriber-rpc.ts) is built from: the PubSub
 * object's own client config, i.e. on the emulator its host and port with insecure credentials.
 */
import { PubSub } from '@google-cloud/pubsub';
import { subscriberClientConfig } from '../../shared/consumer/subscriber-rpc';
import { emulatorPubSub } from '../../shared/emulators';

const isSecure = (creds: unknown) => (creds as { _isSecure(): boolean })._isSecure();

it('connects insecurely to the emulator the PubSub object is bound to', async () => {
  const config = await subscriberClientConfig(emulatorPubSub('127.0.0.1:18555', 'p-1'));
  expect(config).toMatchObject({ servicePath: '127.0.0.1', port: 18555, projectId: 'p-1' });
  expect(isSecure(config.sslCreds)).toBe(false);
});

it('connects insecurely to PUBSUB_EMULATOR_HOST', async () => {
  const before = process.env.PUBSUB_EMULATOR_HOST;
  process.env.PUBSUB_EMULATOR_HOST = 'localhost:18556';
  try {
    const config = await subscriberClientConfig(new PubSub({ projectId: 'p-2' }));
    expect(config).toMatchObject({ servicePath: 'localhost', port: 18556, projectId: 'p-2' });
    expect(isSecure(config.sslCreds)).toBe(false);
  } finally {
    if (before === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
    else process.env.PUBSUB_EMULATOR_HOST = before;
  }
});

it("leaves endpoint and credentials to the generated client's defaults against Google", async () => {
  const before = process.env.PUBSUB_EMULATOR_HOST;
  delete process.env.PUBSUB_EMULATOR_HOST;
  try {
    const config = await subscriberClientConfig(new PubSub({ projectId: 'p-3' }));
    expect(config).toMatchObject({ projectId: 'p-3' });
    expect(config.servicePath).toBeUndefined(); // pubsub.googleapis.com
    expect(config.sslCreds).toBeUndefined();
  } finally {
    if (before !== undefined) process.env.PUBSUB_EMULATOR_HOST = before;
  }
});
