import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE } from '../contracts/pipeline';

/** One of Sandtrap's events, as a handler publishes it. */
export interface PublishedEvent {
  detailType: string;
  detail: object;
}

/**
 * Publishes Sandtrap's events from a handler. The workflows publish an analysis's own events in
 * their publishing states; a handler publishes only what fans out (the verdicts an analysis serves
 * the uploads joined to it), whose count no state machine should carry in its history.
 */
export interface EventPublisher {
  /** Puts every event on the bus, or throws: an event EventBridge refused is an error, never dropped. */
  publish(events: readonly PublishedEvent[]): Promise<void>;
}

/** PutEvents takes at most 10 entries a request. */
const ENTRIES_PER_REQUEST = 10;

/** The error name a step that publishes retries. */
export const EVENTS_NOT_PUBLISHED_ERROR = 'EventsNotPublishedError';

/** Raised when EventBridge refused some entries of a PutEvents request (throttled, too large). */
export class EventsNotPublishedError extends Error {
  constructor(
    readonly failed: number,
    readonly of: number,
    codes: string[],
  ) {
    super(`EventBridge refused ${failed} of ${of} events (${[...new Set(codes)].join(', ') || 'no code given'})`);
    this.name = 'EventsNotPublishedError';
  }
}

/** The publisher on a deployed bus: PutEvents in batches of ten, from source `sandtrap`. */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: Pick<EventBridgeClient, 'send'>,
    private readonly busName: string,
  ) {}

  async publish(events: readonly PublishedEvent[]): Promise<void> {
    for (let start = 0; start < events.length; start += ENTRIES_PER_REQUEST) {
      const batch = events.slice(start, start + ENTRIES_PER_REQUEST);
      const answer = await this.client.send(
        new PutEventsCommand({
          Entries: batch.map((event) => ({
            EventBusName: this.busName,
            Source: EVENT_SOURCE,
            DetailType: event.detailType,
            Detail: JSON.stringify(event.detail),
          })),
        }),
      );
      if (answer.FailedEntryCount)
        throw new EventsNotPublishedError(
          answer.FailedEntryCount,
          batch.length,
          (answer.Entries ?? []).flatMap((entry) => (entry.ErrorCode ? [entry.ErrorCode] : [])),
        );
    }
  }
}

/** The publisher of a function that was given no bus: publishing from it is a deployment error. */
export const noEventBus: EventPublisher = {
  async publish(events) {
    if (events.length > 0) throw new Error('this function was deployed without an event bus to publish to');
  },
};

/** A publisher on the bus named in the environment, with a client on the same endpoint as the others. */
export function eventBridgePublisher(busName: string | undefined, options: { region?: string; endpoint?: string }) {
  if (!busName) return noEventBus;
  const client = new EventBridgeClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
  return new EventBridgePublisher(client, busName);
}
