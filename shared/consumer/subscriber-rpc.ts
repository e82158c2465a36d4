/**
 * The three unary calls the unary puller makes (Pull, Acknowledge, ModifyAckDeadline) on one
 * subscription, through the library's public generated client (`v1.SubscriberClient`).
 *
 * The client is built from the PubSub object's own client config (`getClientConfig()`, the options
 * it gives its own generated clients, as `getSchemaClient()` does): the project, and on the
 * emulator (`apiEndpoint` or PUBSUB_EMULATOR_HOST) its host as servicePath and port with insecure
 * credentials (`sslCreds`, from the library's own grpc). Each puller has its own client, closed
 * with it.
 */
import { v1, type ClientConfig, type PubSub, type protos } from '@google-cloud/pubsub';

export type ReceivedMessage = protos.google.pubsub.v1.IReceivedMessage;

/** A pulled message's publish time as a Date (milliseconds), or undefined when it has none. */
export function publishTimeOf(message: protos.google.pubsub.v1.IPubsubMessage): Date | undefined {
  const t = message.publishTime;
  return t ? new Date(Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)) : undefined;
}

/** On GCP a Pull waits this long for messages before it is asked again (stop() waits at most this). */
export const PULL_WAIT_MS = 2000;
/**
 * On the emulator a Pull returns at once (`returnImmediately`), so this deadline is only reached
 * by an emulator that has stalled.
 *
 * Why: every call its client abandons (a deadline that runs out while the emulator holds a Pull
 * open, a process killed with a Pull or a StreamingPull stream out) costs the emulator a thread it
 * never frees. Its cleanup of a cancelled call dies with NoSuchMethodError
 * (InternalStatus.asRuntimeException, emulator 0.8.20's gRPC); measured: each of 50 Pulls or 50
 * streams left by a killed client added about one thread for good, and the full fault run ended
 * with 3,800 threads and 10 GB. A held Pull returns ~0.9 s before its deadline on an idle emulator,
 * but on a loaded one the answer comes late and the client cancels. So locally nothing is held.
 */
export const EMULATOR_PULL_DEADLINE_MS = 30_000;
/** Pub/Sub takes at most this many ack ids per Acknowledge / ModifyAckDeadline. */
export const MAX_IDS_PER_CALL = 2500;

/** Acknowledge / ModifyAckDeadline, what the settle queue and the lease extender send. */
export interface SettleRpc {
  acknowledge(ackIds: string[]): Promise<void>;
  modifyAckDeadline(ackIds: string[], ackDeadlineSeconds: number): Promise<void>;
}

/**
 * The options a `v1.SubscriberClient` for this PubSub object is built from: its client config,
 * with the project resolved (on the emulator: servicePath, port and insecure sslCreds).
 */
export function subscriberClientConfig(pubsub: PubSub): Promise<ClientConfig> {
  return pubsub.getClientConfig();
}

export class SubscriberRpc implements SettleRpc {
  /** Resolves the project and builds the client; makes no call yet. */
  static async open(pubsub: PubSub, subscription: string): Promise<SubscriberRpc> {
    const config = await subscriberClientConfig(pubsub);
    return new SubscriberRpc(new v1.SubscriberClient({ ...config }), `projects/${config.projectId}/subscriptions/${subscription}`, pubsub.isEmulator);
  }

  private constructor(
    private readonly client: v1.SubscriberClient,
    /** projects/<p>/subscriptions/<id> */
    readonly path: string,
    /** The emulator: Pulls return at once (EMULATOR_PULL_DEADLINE_MS says why). */
    readonly returnsImmediately = false,
  ) {}

  /**
   * One Pull for at most maxMessages, not retried. On GCP held at most PULL_WAIT_MS for messages
   * (then DEADLINE_EXCEEDED); on the emulator answered at once, possibly empty: the caller waits
   * before asking again.
   */
  async pull(maxMessages: number): Promise<ReceivedMessage[]> {
    const [response] = this.returnsImmediately
      ? await this.client.pull({ subscription: this.path, maxMessages, returnImmediately: true }, { timeout: EMULATOR_PULL_DEADLINE_MS, retry: null })
      : await this.client.pull({ subscription: this.path, maxMessages }, { timeout: PULL_WAIT_MS, retry: null });
    return response?.receivedMessages ?? [];
  }

  async acknowledge(ackIds: string[]): Promise<void> {
    await this.client.acknowledge({ subscription: this.path, ackIds });
  }

  async modifyAckDeadline(ackIds: string[], ackDeadlineSeconds: number): Promise<void> {
    await this.client.modifyAckDeadline({ subscription: this.path, ackIds, ackDeadlineSeconds });
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** Splits ack ids (or anything) into batches Pub/Sub takes in one call. */
export function chunks<T>(items: Iterable<T>): T[][] {
  const all = [...items];
  const out: T[][] = [];
  for (let i = 0; i < all.length; i += MAX_IDS_PER_CALL) out.push(all.slice(i, i + MAX_IDS_PER_CALL));
  return out;
}
