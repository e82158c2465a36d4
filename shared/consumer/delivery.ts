/** What a pull consumer holds of one message, whichever transport pulled it (pull.ts). */
import type { Message } from '@google-cloud/pubsub';
import type { IncomingMessage } from '../envelope';

/** A delivered message, whichever transport pulled it. */
export interface Delivery {
  readonly incoming: IncomingMessage;
  ack(): void;
  nack(): void;
  ackWithResponse(): Promise<unknown>;
  nackWithResponse(): Promise<unknown>;
}

/** A StreamingPull message as a Delivery: methods on the prototype, no closures per message (unary-pull.ts says why). */
export class StreamingDelivery implements Delivery {
  readonly incoming: IncomingMessage;

  constructor(private readonly message: Message) {
    this.incoming = {
      data: message.data,
      attributes: message.attributes ?? {},
      messageId: message.id,
      publishTime: message.publishTime,
      orderingKey: message.orderingKey || undefined,
      deliveryAttempt: message.deliveryAttempt > 0 ? message.deliveryAttempt : undefined,
    };
  }

  ack(): void {
    this.message.ack();
  }

  nack(): void {
    this.message.nack();
  }

  ackWithResponse(): Promise<unknown> {
    return this.message.ackWithResponse();
  }

  nackWithResponse(): Promise<unknown> {
    return this.message.nackWithResponse();
  }
}
