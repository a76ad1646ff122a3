import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import { LOCAL_ENV } from './template';

/** An event as EventBridge delivers it to a rule's target. */
export interface DeliveredEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
  /** The bus it was put on (not part of EventBridge's envelope; kept for local inspection). */
  eventBusName: string;
}

/**
 * Where local PutEvents calls land: kept in memory for tests and the CLI, and appended to a JSON-lines
 * file when one is given, one event per line.
 */
export class EventSink {
  readonly events: DeliveredEvent[] = [];
  private readonly listeners = new Set<(event: DeliveredEvent) => void>();

  constructor(private readonly file?: string) {
    if (file) mkdirSync(dirname(file), { recursive: true });
  }

  put(entry: {
    source: string;
    detailType: string;
    detail: Record<string, unknown>;
    eventBusName: string;
    time: number;
  }): DeliveredEvent {
    const event: DeliveredEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.detailType,
      source: entry.source,
      account: LOCAL_ENV.account,
      time: new Date(entry.time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: LOCAL_ENV.region,
      resources: [],
      detail: entry.detail,
      eventBusName: entry.eventBusName,
    };
    this.events.push(event);
    if (this.file) appendFileSync(this.file, `${JSON.stringify(event)}\n`);
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /** Calls `listener` for every event put from now on; returns a function that stops it. */
  subscribe(listener: (event: DeliveredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
