import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** An EventBridge event as an SQS target receives it. */
export interface DeliveredEvent {
  id: string;
  source: string;
  'detail-type': string;
  time?: string;
  detail: Record<string, unknown>;
}

/**
 * Everything an SQS queue received, kept in order: tests wait for the events they expect and can
 * then assert that no other event of a kind arrived. Each message is deleted once read, so that it
 * is read exactly once.
 */
export class EventInbox {
  private readonly received: DeliveredEvent[] = [];

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** Every event received so far. */
  all(): DeliveredEvent[] {
    return [...this.received];
  }

  /** One long-polling receive (up to `waitSeconds`): returns as soon as anything arrives. */
  async receive(waitSeconds: number): Promise<DeliveredEvent[]> {
    const { Messages = [] } = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: Math.max(0, Math.min(20, Math.ceil(waitSeconds))),
      }),
    );
    const events = Messages.map((m) => JSON.parse(m.Body ?? '{}') as DeliveredEvent);
    this.received.push(...events);
    const entries = Messages.filter((m) => m.ReceiptHandle).map((m, i) => ({
      Id: String(i),
      ReceiptHandle: m.ReceiptHandle as string,
    }));
    if (entries.length)
      await this.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }));
    return events;
  }

  /** Receives until `count` events match (including those already received), or fails after `timeoutMs`. */
  async waitFor(
    match: (event: DeliveredEvent) => boolean,
    options: { timeoutMs: number; count?: number; what: string },
  ): Promise<DeliveredEvent[]> {
    const deadline = Date.now() + options.timeoutMs;
    const wanted = options.count ?? 1;
    for (;;) {
      const found = this.received.filter(match);
      if (found.length >= wanted) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.received
          .map((e) => `${e['detail-type']} ${String(e.detail.key ?? e.detail.sha256 ?? '')}`)
          .join('; ');
        throw new Error(
          `no ${options.what} on the queue within ${options.timeoutMs} ms (received: ${seen || 'nothing'})`,
        );
      }
      await this.receive(left / 1000);
    }
  }

  /** Keeps receiving for `ms`, so that a test can assert that something did not arrive. */
  async drain(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) await this.receive((deadline - Date.now()) / 1000);
  }
}
