import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { ObjectCreatedEventSchema, VerdictDocumentSchema, type EngineResult } from '../lambdas/core/contracts/pipeline';
import type { VerdictRecord } from '../lambdas/core/store/verdict-store';
import { isEventOf, reanalysisEvent, reanalysisName, waitForAnalysis, type AnalysisTarget } from '../deployed/analyses';
import type { DeployedClients } from '../deployed/clients';
import { registerDeployedCommands, type ConnectToStack } from '../cli/deployed-commands';
import {
  AccessDeniedError,
  AwsCallError,
  CredentialsError,
  DeployedStackError,
  EndpointUnreachableError,
  explainAwsError,
  NotASandtrapStackError,
  StackNotFoundError,
} from '../deployed/errors';
import {
  failureOf,
  formatReportText,
  formatSubmissions,
  progressLine,
  ProgressBar,
  REPORT_RENDERERS,
} from '../cli/deployed-format';
import { findStack, type DeployedStack } from '../deployed/stack';
import { submissionKeys } from '../deployed/submit';
import { documentFromRecord, Sha256ArgSchema } from '../deployed/verdicts';

const SHA = 'a'.repeat(64);
const STACK: DeployedStack = {
  name: 'Sandtrap',
  ingestBucket: 'ingest',
  reportsBucket: 'reports',
  table: 'verdicts',
  stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Analysis',
  bus: 'sandtrap',
};
const ENGINE: EngineResult = {
  engine: 'cape',
  status: 'completed',
  verdict: 'malicious',
  score: 92,
  reportKey: `reports/${SHA}/cape/1.json.gz`,
};
const RECORD: VerdictRecord = {
  sha256: SHA,
  verdict: 'malicious',
  score: 92,
  engineResults: [ENGINE],
  fileType: 'script-js',
  mimeType: 'text/javascript',
  size: 52,
  sha1: 'b'.repeat(40),
  md5: 'c'.repeat(32),
  analyzedAt: Date.parse('2026-11-22T17:36:29.101Z'),
  durationMs: 301_553,
  reportKey: `reports/${SHA}/verdict.json`,
  object: { bucket: 'ingest', key: 'mail/invoice.js', versionId: 'v1' },
};
const DOCUMENT = documentFromRecord(RECORD);

type Handler = (input: Record<string, unknown>) => unknown;

/** Clients whose every `send` is answered by the handler named after the command's class. */
function fakeClients(
  handlers: Record<string, Handler>,
  calls: { command: string; input: Record<string, unknown> }[] = [],
): DeployedClients {
  const client = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      calls.push({ command: command.constructor.name, input: command.input });
      const handler = handlers[command.constructor.name];
      if (!handler) throw new Error(`unexpected ${command.constructor.name}`);
      return handler(command.input);
    },
    destroy() {},
  };
  return { s3: client, ddb: client, cfn: client, sfn: client, region: 'eu-west-1' } as unknown as DeployedClients;
}

const sdkError = (name: string, message: string, status?: number) =>
  Object.assign(new Error(message), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });

/** Runs the deployed commands in-process as `main` would: the first error is the one line printed. */
async function runCommands(
  args: string[],
  connect: ConnectToStack,
): Promise<{ code: number; stdout: string; stderr: string; error?: string }> {
  let stdout = '';
  let stderr = '';
  const cli = new Command('sandtrap').exitOverride();
  registerDeployedCommands(cli, {
    connect,
    stdout: { write: (t) => (stdout += String(t)) },
    stderr: { write: (t) => (stderr += t), isTTY: false },
  });
  process.exitCode = 0;
  try {
    await cli.parseAsync(args, { from: 'user' });
    return { code: Number(process.exitCode ?? 0), stdout, stderr };
  } catch (error) {
    // As `main` words it: a validation error is its issues' messages.
    const message =
      error instanceof z.ZodError ? error.issues.map((issue) => issue.message).join('; ') : (error as Error).message;
    return { code: 1, stdout, stderr, error: message };
  } finally {
    process.exitCode = 0;
  }
}

const connectWith =
  (clients: DeployedClients, seen: { stack?: string; region?: string }[] = []): ConnectToStack =>
  async (target) => {
    seen.push(target);
    return { clients, stack: STACK, close: () => undefined };
  };

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('argument validation, before any AWS call', () => {
  const offline = connectWith(fakeClients({}));

  it('rejects a malformed sha256', async () => {
    for (const command of ['status', 'report', 'reanalyze']) {
      expect(await runCommands([command, 'abc123'], offline)).toMatchObject({
        code: 1,
        error: '"abc123" is not a sha256 (64 hex digits)',
      });
    }
  });

  it('rejects a missing file, a bad --timeout and an absolute --prefix', async () => {
    expect((await runCommands(['submit', 'no-such-file.bin'], offline)).error).toBe(
      'no-such-file.bin: not a readable file',
    );
    expect((await runCommands(['submit', 'README.md', '--wait', '--timeout', '0'], offline)).error).toBe(
      '--timeout must be a whole number of seconds from 1 to 86400, not "0"',
    );
    expect((await runCommands(['reanalyze', SHA, '--wait', '--timeout', '1.5'], offline)).error).toBe(
      '--timeout must be a whole number of seconds from 1 to 86400, not "1.5"',
    );
    expect((await runCommands(['submit', 'README.md', '--prefix', '/uploads/'], offline)).error).toBe(
      'the prefix must not start with "/" (S3 keys have no leading slash)',
    );
  });

  it('accepts an upper-case sha256 and looks it up in lower case', () => {
    expect(Sha256ArgSchema.parse(` ${SHA.toUpperCase()} `)).toBe(SHA);
  });

  it('the real CLI prints one line and exits 1 for a bad sha256 and for missing credentials', async () => {
    const bin = join(import.meta.dirname, '..', 'bin', 'sandtrap.mjs');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/nonexistent/config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
      AWS_REGION: 'us-east-1',
    };
    for (const name of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_PROFILE',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
    ])
      delete env[name];
    // A closed loopback port: should the credential chain ever be satisfied, nothing leaves the machine.
    env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9';
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [bin, ...args], { env, timeout: 30_000 }, (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
        ),
      );
    const [badSha, noCredentials] = await Promise.all([run(['report', 'xyz']), run(['status', SHA])]);
    expect(badSha).toEqual({ code: 1, stdout: '', stderr: 'sandtrap: "xyz" is not a sha256 (64 hex digits)\n' });
    expect(noCredentials).toEqual({
      code: 1,
      stdout: '',
      stderr: 'sandtrap: no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)\n',
    });
  });
});

describe('AWS errors as one line', () => {
  const call = { action: 'cloudformation:DescribeStacks', target: 'stack Sandtrap', region: 'eu-west-1' };

  it('names missing, expired and rejected credentials', () => {
    expect(
      explainAwsError(sdkError('CredentialsProviderError', 'Could not load credentials from any providers'), call),
    ).toBeInstanceOf(CredentialsError);
    expect(
      explainAwsError(sdkError('ExpiredToken', 'The security token included in the request is expired'), call).message,
    ).toBe('the AWS credentials have expired (ExpiredToken): refresh them and try again');
    expect(
      explainAwsError(
        sdkError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403),
        call,
      ).message,
    ).toBe(
      'AWS eu-west-1 rejected the AWS credentials (InvalidClientTokenId): The security token included in the request is invalid.',
    );
  });

  it('turns access denied into the action to grant and what it was on, on one line', () => {
    const error = explainAwsError(
      sdkError(
        'AccessDenied',
        'User: arn:aws:iam::1:user/x is not authorized\nto perform: cloudformation:DescribeStacks',
        403,
      ),
      call,
    );
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error.message).toBe(
      'access denied: cloudformation:DescribeStacks on stack Sandtrap: User: arn:aws:iam::1:user/x is not authorized to perform: cloudformation:DescribeStacks',
    );
  });

  it('finds a refused connection inside an AggregateError and names the endpoint', () => {
    const refused = new AggregateError(
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' })],
      '',
    );
    const error = explainAwsError(refused, { ...call, endpoint: 'http://127.0.0.1:4566' });
    expect(error).toBeInstanceOf(EndpointUnreachableError);
    expect(error.message).toBe(
      'cannot reach http://127.0.0.1:4566 (eu-west-1) for cloudformation:DescribeStacks (ECONNREFUSED)',
    );
  });

  it('names the call for anything else and passes explained errors through', () => {
    expect(explainAwsError(sdkError('ThrottlingException', 'Rate exceeded'), call)).toEqual(
      new AwsCallError('cloudformation:DescribeStacks on stack Sandtrap failed: ThrottlingException: Rate exceeded'),
    );
    const explained = new StackNotFoundError('Sandtrap', 'eu-west-1');
    expect(explainAwsError(explained, call)).toBe(explained);
  });
});

describe('finding the stack', () => {
  const outputs = Object.entries({
    IngestBucketName: 'ingest',
    ReportsBucketName: 'reports',
    VerdictTableName: 'verdicts',
    StateMachineArn: STACK.stateMachineArn,
    VerdictBusName: 'sandtrap',
  }).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));

  it('reads the pipeline from the outputs', async () => {
    const clients = fakeClients({
      DescribeStacksCommand: () => ({ Stacks: [{ StackStatus: 'CREATE_COMPLETE', Outputs: outputs }] }),
    });
    expect(await findStack(clients, 'Sandtrap')).toEqual(STACK);
  });

  it('says the stack is not there, naming the region', async () => {
    const clients = fakeClients({
      DescribeStacksCommand: () =>
        Promise.reject(sdkError('ValidationError', 'Stack with id Sandtrap does not exist', 400)),
    });
    await expect(findStack(clients, 'Sandtrap')).rejects.toThrow(new StackNotFoundError('Sandtrap', 'eu-west-1'));
    await expect(findStack(clients, 'Sandtrap')).rejects.toThrow(
      'stack Sandtrap not found in eu-west-1 (deploy it with `npx cdk deploy`, or name it with --stack or SANDTRAP_STACK)',
    );
  });

  it('says which outputs a stack that is not Sandtrap lacks', async () => {
    const clients = fakeClients({
      DescribeStacksCommand: () => ({ Stacks: [{ StackStatus: 'UPDATE_COMPLETE', Outputs: outputs.slice(0, 2) }] }),
    });
    const error = await findStack(clients, 'Other').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotASandtrapStackError);
    expect((error as Error).message).toBe(
      'stack Other (UPDATE_COMPLETE) has no output VerdictTableName, StateMachineArn, VerdictBusName: not a deployed Sandtrap stack',
    );
  });
});

describe('sandtrap status, report and reanalyze', () => {
  const verdictItem = { pk: `SAMPLE#${SHA}`, sk: 'VERDICT', expiresAt: 1, ...RECORD };

  it('status prints the stored verdict as the verdict document, or the analyze table', async () => {
    const seen: { stack?: string }[] = [];
    vi.stubEnv('SANDTRAP_STACK', 'Staging');
    const clients = fakeClients({
      GetCommand: (input) => ({ Item: (input.Key as { pk: string }).pk === `SAMPLE#${SHA}` ? verdictItem : undefined }),
    });
    const json = await runCommands(['status', SHA, '--json'], connectWith(clients, seen));
    expect(json.code).toBe(0);
    expect(VerdictDocumentSchema.parse(JSON.parse(json.stdout))).toEqual(DOCUMENT);
    expect(seen[0]?.stack).toBe('Staging');
    const table = await runCommands(['status', SHA, '--stack', 'Prod'], connectWith(clients, seen));
    expect(table.stdout).toMatch(
      /^FILE\s+VERDICT\s+SCORE\s+TYPE\s+SIZE\s+SHA256\s+CACHED\ns3:\/\/ingest\/mail\/invoice\.js\s+malicious\s+92\s+script-js\s+52 B/,
    );
    expect(seen[1]?.stack).toBe('Prod');
  });

  it('status of an unknown sha256 is one line naming the stack and table', async () => {
    const result = await runCommands(['status', SHA], connectWith(fakeClients({ GetCommand: () => ({}) })));
    expect(result).toMatchObject({
      code: 1,
      stdout: '',
      error: `no verdict for ${SHA} in stack Sandtrap (table verdicts)`,
    });
  });

  it('report prints verdict.json from the reports bucket, keeping fields it does not know', async () => {
    const stored = { ...DOCUMENT, reportUrl: 'https://example.org/report.html' };
    const calls: { command: string; input: Record<string, unknown> }[] = [];
    const clients = fakeClients(
      { GetObjectCommand: () => ({ Body: { transformToByteArray: async () => Buffer.from(JSON.stringify(stored)) } }) },
      calls,
    );
    const json = await runCommands(['report', SHA, '--json'], connectWith(clients));
    expect(JSON.parse(json.stdout)).toEqual(stored);
    expect(calls[0]?.input).toEqual({ Bucket: 'reports', Key: `reports/${SHA}/verdict.json` });
    const text = await runCommands(['report', SHA], connectWith(clients));
    expect(text.stdout).toContain('verdict   malicious (score 92)');
  });

  it('report says which object is missing or not a verdict document', async () => {
    const missing = fakeClients({
      GetObjectCommand: () => Promise.reject(sdkError('NoSuchKey', 'The specified key does not exist.', 404)),
    });
    expect((await runCommands(['report', SHA], connectWith(missing))).error).toBe(
      `no verdict for ${SHA} in s3://reports/reports/${SHA}/verdict.json`,
    );
    const broken = fakeClients({
      GetObjectCommand: () => ({ Body: { transformToByteArray: async () => Buffer.from('{"sha256": 1}') } }),
    });
    const error = (await runCommands(['report', SHA], connectWith(broken))).error ?? '';
    expect(error).toMatch(new RegExp(`^s3://reports/reports/${SHA}/verdict\\.json is not a verdict document: `));
    expect(error).not.toContain('\n');
  });

  it('reanalyze starts an execution with the Object Created event of the analysed upload plus sandtrap.reanalyze', async () => {
    const calls: { command: string; input: Record<string, unknown> }[] = [];
    const clients = fakeClients(
      {
        GetCommand: () => ({ Item: verdictItem }),
        StartExecutionCommand: (input) => ({
          executionArn: `arn:aws:states:eu-west-1:123456789012:execution:Analysis:${String(input.name)}`,
          startDate: new Date(),
        }),
      },
      calls,
    );
    const result = await runCommands(['reanalyze', SHA, '--json'], connectWith(clients));
    expect(result.code).toBe(0);
    const start = calls.find((c) => c.command === 'StartExecutionCommand')?.input as {
      stateMachineArn: string;
      name: string;
      input: string;
    };
    expect(start.stateMachineArn).toBe(STACK.stateMachineArn);
    const event = JSON.parse(start.input);
    expect(ObjectCreatedEventSchema.parse(event)).toMatchObject({
      detail: { bucket: { name: 'ingest' }, object: { key: 'mail/invoice.js', 'version-id': 'v1' } },
      sandtrap: { reanalyze: true },
    });
    expect(event).toMatchObject({
      source: 'aws.s3',
      'detail-type': 'Object Created',
      account: '123456789012',
      region: 'eu-west-1',
      resources: ['arn:aws:s3:::ingest'],
    });
    expect(JSON.parse(result.stdout)).toEqual({
      bucket: 'ingest',
      key: 'mail/invoice.js',
      versionId: 'v1',
      sha256: SHA,
      executionArn: expect.stringMatching(new RegExp(`:${start.name}$`)),
    });
  });
});

describe('waiting for an analysis', () => {
  const upload: AnalysisTarget = {
    bucket: 'ingest',
    key: 'mail/invoice.js',
    versionId: 'v1',
    etag: '"e1"',
    uploadIds: ['v1'],
    startedAt: new Date('2026-11-22T17:00:00Z'),
  };
  const terminal = {
    bucket: 'ingest',
    key: 'mail/invoice.js',
    versionId: 'v1',
    status: 'verdict',
    sha256: SHA,
    verdict: 'malicious',
    score: 92,
    cached: false,
    at: 1,
  };
  const instant = { sleep: async () => undefined, pollMs: 1 };

  it('ends when the record of the upload says verdict', async () => {
    let polls = 0;
    const clients = fakeClients({
      GetCommand: () => ({
        Item: ++polls < 3 ? { ...terminal, status: 'analyzing' } : { ...terminal, uploadId: 'v1' },
      }),
    });
    expect(await waitForAnalysis(clients, STACK, upload, { timeoutMs: 60_000, ...instant })).toEqual({
      status: 'verdict',
      record: { ...terminal, uploadId: 'v1' },
    });
  });

  it('follows the execution of the upload when the event keyed the record by sequencer (no version-id in the event)', async () => {
    const calls: { command: string; input: Record<string, unknown> }[] = [];
    const event = {
      'detail-type': 'Object Created',
      source: 'aws.s3',
      detail: { bucket: { name: 'ingest' }, object: { key: 'mail/invoice.js', etag: 'e1', sequencer: '0066' } },
    };
    const clients = fakeClients(
      {
        GetCommand: (input) => ({
          Item: (input.Key as { pk: string }).pk.endsWith('#0066') ? { ...terminal, uploadId: '0066' } : undefined,
        }),
        ListExecutionsCommand: () => ({
          executions: [
            { executionArn: 'arn:x:other', startDate: new Date('2026-11-22T17:00:01Z') },
            { executionArn: 'arn:x:mine', startDate: new Date('2026-11-22T17:00:01Z') },
          ],
        }),
        DescribeExecutionCommand: (input) =>
          input.executionArn === 'arn:x:mine'
            ? { status: 'RUNNING', input: JSON.stringify(event) }
            : {
                status: 'SUCCEEDED',
                input: JSON.stringify({ ...event, detail: { ...event.detail, object: { key: 'other' } } }),
              },
      },
      calls,
    );
    const end = await waitForAnalysis(clients, STACK, upload, { timeoutMs: 60_000, ...instant });
    expect(end).toMatchObject({ status: 'verdict', record: { uploadId: '0066' } });
    expect(calls.filter((c) => c.command === 'DescribeExecutionCommand')).toHaveLength(2);
  });

  it('fails when the execution ended without a terminal record', async () => {
    const clients = fakeClients({
      GetCommand: () => ({}),
      DescribeExecutionCommand: () => ({
        status: 'FAILED',
        name: 'reanalyze-x',
        error: 'ObjectNotFound',
        cause: 's3://ingest/mail/invoice.js no longer exists',
        stopDate: new Date(5),
      }),
    });
    const end = await waitForAnalysis(
      clients,
      STACK,
      { ...upload, uploadIds: ['reanalysis:reanalyze-x'], executionArn: 'arn:x:reanalyze-x' },
      { timeoutMs: 60_000, ...instant },
    );
    expect(end).toEqual({
      status: 'failed',
      reason: 'ObjectNotFound',
      error: 'execution reanalyze-x ended FAILED: s3://ingest/mail/invoice.js no longer exists',
      at: 5,
    });
  });

  it('gives up at the deadline, telling once that nothing has started', async () => {
    let now = 0;
    const told: string[] = [];
    const clients = fakeClients({ GetCommand: () => ({}), ListExecutionsCommand: () => ({ executions: [] }) });
    const end = await waitForAnalysis(clients, STACK, upload, {
      timeoutMs: 120_000,
      notStartedAfterMs: 60_000,
      onNotStarted: (m) => told.push(m),
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    expect(end).toEqual({ status: 'timeout', waitedMs: 120_000, started: false });
    expect(told).toEqual([
      expect.stringMatching(
        /^no analysis of s3:\/\/ingest\/mail\/invoice\.js has started after \d+ s \(is the key under the stack's ingest prefix\?\)$/,
      ),
    ]);
  });

  it('recognises the event of an upload by version or ETag, never a reanalysis', () => {
    const event = (object: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        'detail-type': 'Object Created',
        source: 'aws.s3',
        detail: { bucket: { name: 'ingest' }, object: { key: 'mail/invoice.js', ...object } },
        ...extra,
      });
    expect(isEventOf(event({ 'version-id': 'v1' }), upload)).toBeDefined();
    expect(isEventOf(event({ etag: 'e1' }), upload)).toBeDefined();
    expect(isEventOf(event({ etag: 'e2' }), upload)).toBeUndefined();
    expect(isEventOf(event({ 'version-id': 'v1' }, { sandtrap: { reanalyze: true } }), upload)).toBeUndefined();
    expect(isEventOf('not json', upload)).toBeUndefined();
  });

  it('names reanalysis executions within Step Functions limits', () => {
    const name = reanalysisName(SHA, new Date());
    expect(name).toMatch(/^reanalyze-a{16}-[0-9a-z]+-[0-9a-f]{8}$/);
    expect(name.length).toBeLessThanOrEqual(80);
    expect(() =>
      reanalysisEvent({ bucket: 'ingest', key: '', versionId: null }, 'eu-west-1', '1', new Date()),
    ).toThrow();
  });
});

describe('output formatting', () => {
  it('draws the progress bar in place on a terminal and only start and end elsewhere', () => {
    expect(progressLine('a.bin', 512, 1024)).toBe('a.bin  [############------------]  50%  512 B / 1.0 KB');
    const tty: string[] = [];
    let now = 0;
    const bar = new ProgressBar({ write: (t) => tty.push(t), isTTY: true }, 'a.bin', () => now);
    bar.update(0, 2048);
    now += 10;
    bar.update(1024, 2048);
    now += 200;
    bar.update(2048, 2048);
    bar.finish();
    expect(tty).toEqual([
      '\ra.bin  [------------------------]   0%  0 B / 2.0 KB',
      '\ra.bin  [########################] 100%  2.0 KB / 2.0 KB',
      '\n',
    ]);
    const log: string[] = [];
    const plain = new ProgressBar({ write: (t) => log.push(t) }, 'a.bin');
    for (const sent of [0, 1024, 2048]) plain.update(sent, 2048);
    expect(log).toEqual(['a.bin: uploading 2.0 KB\n', 'a.bin: uploaded 2.0 KB\n']);
  });

  it('keys files under the prefix, numbering files that share a name', () => {
    expect(submissionKeys(['a/x.bin', 'b/x.bin', 'y.txt'], 'in/')).toEqual(['in/x.bin', 'in/2/x.bin', 'in/y.txt']);
  });

  it('prints each upload with its key and version', () => {
    const text = formatSubmissions([
      {
        file: 'x.bin',
        bucket: 'ingest',
        key: 'in/x.bin',
        versionId: 'v9',
        size: 2048,
        sha256: SHA,
        startedAt: new Date(),
      },
    ]);
    expect(text).toBe(
      `FILE   KEY                   VERSION  SIZE    SHA256\nx.bin  s3://ingest/in/x.bin  v9       2.0 KB  ${SHA}\n`,
    );
  });

  it('explains a wait that ended without a verdict', () => {
    const object = { bucket: 'ingest', key: 'k', versionId: 'v1', sha256: SHA };
    expect(failureOf({ status: 'timeout', waitedMs: 90_400, started: true }, object, 0)).toEqual({
      ...object,
      reason: 'Timeout',
      error: `no verdict after 90 s; the analysis is still running (see later with \`sandtrap status ${SHA}\`)`,
      failedAt: '1970-01-01T00:00:00.000Z',
    });
    expect(failureOf({ status: 'timeout', waitedMs: 5_000, started: false }, object, 0).error).toBe(
      "no analysis started within 5 s (is the key under the stack's ingest prefix?)",
    );
    expect(
      failureOf({ status: 'failed', reason: 'EmptyObject', error: 'the analysis failed (EmptyObject)', at: 0 }, object),
    ).toMatchObject({ reason: 'EmptyObject', failedAt: '1970-01-01T00:00:00.000Z' });
  });

  it('renders the verdict report as text and JSON', async () => {
    const document = { ...DOCUMENT, behavior: { network: [{}, {}], persistence: [] } };
    const text = formatReportText(document);
    expect(text).toContain(
      `object    s3://ingest/mail/invoice.js (version v1)\nverdict   malicious (score 92)\nanalyzed  2026-11-22T17:36:29.101Z in 301.6 s`,
    );
    expect(text).toContain(`  cape       completed      malicious  92   reports/${SHA}/cape/1.json.gz`);
    expect(text).toContain('behaviour:\n  network              2 observations\n');
    expect(text).not.toContain('persistence');
    expect(
      JSON.parse(
        String(await REPORT_RENDERERS.json({ document, source: 's3://x', read: async () => new Uint8Array() })),
      ),
    ).toEqual(document);
  });

  it('keeps every error of the deployed commands on one line', () => {
    expect(new DeployedStackError('a\n  b\tc').message).toBe('a b c');
  });
});
