import { createHash } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { ManualClock } from '../../manual-clock';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Clock } from '../../../lambdas/core/contracts/clock';
import type { Sample } from '../../../lambdas/core/contracts/pipeline';
import { parseSettings, type RuntimeConfig } from '../../../lambdas/core/config/runtime-config';
import { createClients, destroyClients, type AwsClients } from '../../../lambdas/core/runtime/clients';
import { createDeps, type ConnectorFactory } from '../../../lambdas/core/runtime/create-deps';
import type { HandlerDeps, Log } from '../../../lambdas/core/runtime/deps';
import { CONTENT_INDEX, UPLOAD_INDEX } from '../../../lambdas/core/store/verdict-store';
import type { EventPublisher, PublishedEvent } from '../../../lambdas/core/runtime/events';
import { LOCAL_CREDENTIALS, startServices } from '../../../local/services';

/**
 * Helpers for unit tests of lambdas/core: the core functions are called directly, with the same
 * dynalite and s3rver the local runtime runs on (no state machine, no synthesized stack).
 */

/** Names of the table and buckets {@link startLocalAws} creates. */
export const UNIT = {
  table: 'unit-verdicts',
  ingest: 'unit-ingest',
  reports: 'unit-reports',
  quarantine: 'unit-quarantine',
  inventory: 'unit-inventory',
} as const;

/** dynalite and s3rver on loopback, with the verdict table (`pk`, `sk`, the upload index) and the four buckets. */
export interface LocalAws {
  clients: AwsClients;
  stop(): Promise<void>;
}

export async function startLocalAws(): Promise<LocalAws> {
  const services = await startServices({
    buckets: {
      ingest: UNIT.ingest,
      reports: UNIT.reports,
      all: [UNIT.ingest, UNIT.reports, UNIT.quarantine, UNIT.inventory],
    },
    tables: [
      {
        name: UNIT.table,
        partitionKey: 'pk',
        sortKey: 'sk',
        indexes: [
          {
            name: UPLOAD_INDEX.name,
            partitionKey: UPLOAD_INDEX.partition,
            sortKey: UPLOAD_INDEX.sort,
            projection: { type: 'INCLUDE', attributes: [...UPLOAD_INDEX.projected] },
          },
          {
            name: CONTENT_INDEX.name,
            partitionKey: CONTENT_INDEX.partition,
            sortKey: CONTENT_INDEX.sort,
            projection: { type: 'INCLUDE', attributes: [...CONTENT_INDEX.projected] },
          },
        ],
      },
    ],
  });
  const clients = createClients({
    s3Endpoint: services.s3Endpoint,
    dynamodbEndpoint: services.dynamodbEndpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  return {
    clients,
    async stop() {
      destroyClients(clients);
      await services.stop();
    },
  };
}

/** A log that keeps its lines, for tests that assert what was reported. */
export interface RecordingLog extends Log {
  lines: { level: 'info' | 'warn' | 'error'; message: string; extra: Record<string, unknown> }[];
}

export function recordingLog(): RecordingLog {
  const lines: RecordingLog['lines'] = [];
  const at =
    (level: 'info' | 'warn' | 'error') =>
    (message: string, ...extra: Record<string, unknown>[]) =>
      lines.push({ level, message, extra: Object.assign({}, ...extra) });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

/** Options of {@link unitDeps}. */
export interface UnitDepsOptions {
  settings?: unknown;
  clock?: Clock;
  log?: Log;
  connectors?: ConnectorFactory;
  quarantine?: boolean;
  /** Where handlers publish: a {@link RecordingEvents} by default. */
  events?: EventPublisher;
}

/** An event bus that keeps what handlers publish, for tests to read. */
export class RecordingEvents implements EventPublisher {
  readonly published: PublishedEvent[] = [];
  async publish(events: readonly PublishedEvent[]): Promise<void> {
    this.published.push(...events);
  }
}

/** Handler dependencies over {@link startLocalAws}: settings validated as in a Lambda, connectors injected. */
export function unitDeps(aws: LocalAws, options: UnitDepsOptions = {}): HandlerDeps {
  const config: RuntimeConfig = {
    ...parseSettings(options.settings ?? {}),
    tableName: UNIT.table,
    reportsBucket: UNIT.reports,
    ...(options.quarantine ? { quarantineBucket: UNIT.quarantine } : {}),
  };
  return createDeps(config, {
    clients: aws.clients,
    clock: options.clock ?? new ManualClock(),
    log: options.log ?? recordingLog(),
    events: options.events ?? new RecordingEvents(),
    env: {},
    ...(options.connectors ? { connectors: options.connectors } : {}),
  });
}

/** A sample as Triage would describe these bytes (hashes computed), in the ingest bucket. */
export function sampleOf(body: string | Buffer, overrides: Partial<Sample> = {}): Sample {
  const bytes = Buffer.from(body);
  const hash = (algorithm: string) => createHash(algorithm).update(bytes).digest('hex');
  return {
    bucket: UNIT.ingest,
    key: `uploads/${hash('sha256').slice(0, 12)}.bin`,
    versionId: null,
    uploadId: `etag-${hash('md5')}`,
    size: bytes.length,
    sha256: hash('sha256'),
    sha1: hash('sha1'),
    md5: hash('md5'),
    fileType: 'binary',
    mimeType: 'application/octet-stream',
    ...overrides,
  };
}

/** Writes a sample's bytes to its bucket and key. */
export async function putSample(aws: LocalAws, sample: Sample, body: string | Buffer): Promise<void> {
  await aws.clients.s3.send(new PutObjectCommand({ Bucket: sample.bucket, Key: sample.key, Body: Buffer.from(body) }));
}

/** What {@link useLocalAws} gives a describe block: `aws` and `deps` are there once its `beforeAll` has run. */
export interface UnitContext {
  aws: LocalAws;
  deps: HandlerDeps;
  clock: ManualClock;
  log: RecordingLog;
}

/**
 * Starts local AWS before the tests of the calling describe block and stops it after them, with
 * handler dependencies over it on a manual clock and a recording log.
 */
export function useLocalAws(options: Omit<UnitDepsOptions, 'clock' | 'log'> = {}): UnitContext {
  const unit = { clock: new ManualClock(), log: recordingLog() } as UnitContext;
  beforeAll(async () => {
    unit.aws = await startLocalAws();
    unit.deps = unitDeps(unit.aws, { ...options, clock: unit.clock, log: unit.log });
  });
  afterAll(async () => unit.aws?.stop());
  return unit;
}

export { ManualClock };
