import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCommand } from './harness/commands';
import { detonationRequestOf, EcsDataPlane, type DetonationTaskRequest } from './harness/ecs-data-plane';
import { diagnosticLines, ministackPython } from './harness/ministack';
import { EventInbox } from './harness/sqs';
import { AcceleratedClock } from './harness/vendors';

/** The e2e harness's own pieces, checked without MiniStack (these run with `npm test`). */

type Sent = { command: string; input: Record<string, unknown> };

function fakeClient<T>(answer: (command: string, input: Record<string, unknown>) => unknown, sent: Sent[] = []): T {
  return {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      sent.push({ command: command.constructor.name, input: command.input });
      return answer(command.constructor.name, command.input);
    },
  } as T;
}

const env = (values: Record<string, string>) => Object.entries(values).map(([name, value]) => ({ name, value }));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('e2e harness', () => {
  it('names .ci/run and the install command when MiniStack is not installed', () => {
    expect(() => ministackPython('/nonexistent-repo')).toThrow(
      'MiniStack is not installed: /nonexistent-repo/.venv-ministack/bin/python is missing. .ci/run creates it; by hand: python3 -m venv .venv-ministack && .venv-ministack/bin/pip install ministack==1.5.33 boto3',
    );
  });

  it('quotes the MiniStack log lines that explain a failed deploy', () => {
    const log =
      'INFO ready\nERROR [lambda] Warm worker execution error for X: Worker init failed: No module named boto3\nINFO ok';
    expect(diagnosticLines(log)).toEqual([
      'ERROR [lambda] Warm worker execution error for X: Worker init failed: No module named boto3',
    ]);
  });

  it('runs the emulator clock 20 times faster than the wall clock', () => {
    const now = vi.spyOn(Date, 'now').mockReturnValue(1_000_000);
    const clock = new AcceleratedClock();
    now.mockReturnValue(1_000_500);
    expect(clock.now()).toBe(1_010_000);
  });

  it('kills a command that outlives its timeout, with everything it spawned', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'sandtrap-harness-')), 'run.log');
    const started = Date.now();
    const error = await runCommand(process.execPath, ['-e', "console.log('working'); setTimeout(() => {}, 60000)"], {
      label: 'slow step',
      timeoutMs: 500,
      logFile: log,
      explain: () => 'more context',
    }).catch((e: Error) => e);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((error as Error).message).toMatch(
      /^slow step timed out after 1 s \(log: .*run\.log\)\nworking\n*\nmore context$/,
    );
    expect(readFileSync(log, 'utf8')).toContain('working');
    await expect(
      runCommand(process.execPath, ['-e', 'process.exit(3)'], { label: 'failing step', timeoutMs: 10_000 }),
    ).rejects.toThrow(/^failing step exited with 3 after/);
    await expect(
      runCommand(process.execPath, ['-e', "console.log('ok')"], { label: 'step', timeoutMs: 10_000 }),
    ).resolves.toMatchObject({ stdout: 'ok\n' });
  });

  it('reads a detonation request from the container overrides and leaves other tasks alone', () => {
    const task = (environment: { name: string; value: string }[]) => ({
      taskArn: 'arn:task/1',
      overrides: { containerOverrides: [{ name: 'detonation', environment }] },
    });
    expect(
      detonationRequestOf(
        'c',
        task(
          env({
            SAMPLE_URL: 'http://s',
            REPORT_URL: 'http://r',
            PCAP_URL: 'http://p',
            SAMPLE_NAME: 'x.sh',
            AGENT_CONFIG: '{"timeout":30}',
          }),
        ),
      ),
    ).toEqual({
      cluster: 'c',
      taskArn: 'arn:task/1',
      sampleUrl: 'http://s',
      reportUrl: 'http://r',
      pcapUrl: 'http://p',
      sampleName: 'x.sh',
      config: { timeout: 30 },
    });
    expect(
      detonationRequestOf('c', task(env({ SAMPLE_URL: 'http://s', REPORT_URL: 'http://r', AGENT_CONFIG: 'not json' })))
        ?.config,
    ).toBe('not json');
    expect(detonationRequestOf('c', task(env({ OBJECT_KEY: 'k' })))).toBeUndefined();
  });

  it('plays each detonation task once and stops it, also when the detonation fails', async () => {
    const sent: Sent[] = [];
    const overrides = (name: string) => ({
      containerOverrides: [
        {
          name: 'detonation',
          environment: env({ SAMPLE_URL: `http://s/${name}`, REPORT_URL: 'http://r', SAMPLE_NAME: name }),
        },
      ],
    });
    const ecs = fakeClient<ECSClient>((command, input) => {
      if (command === 'ListClustersCommand') return { clusterArns: ['cluster'] };
      if (command === 'ListTasksCommand') return { taskArns: ['t-ok', 't-bad', 't-other'] };
      if (command === 'DescribeTasksCommand') {
        return {
          tasks: (input.tasks as string[]).map((taskArn) =>
            taskArn === 't-other'
              ? { taskArn, overrides: { containerOverrides: [] } }
              : { taskArn, overrides: overrides(taskArn === 't-ok' ? 'ok.sh' : 'bad.sh') },
          ),
        };
      }
      return {};
    }, sent);
    const ran: DetonationTaskRequest[] = [];
    const plane = new EcsDataPlane(ecs, async (request) => {
      ran.push(request);
      if (request.sampleName === 'bad.sh') throw new Error('agent crashed');
    });
    await plane.scan();
    await plane.scan();
    await plane.stop();
    expect(ran.map((r) => r.sampleName).sort()).toEqual(['bad.sh', 'ok.sh']);
    expect(
      sent
        .filter((s) => s.command === 'StopTaskCommand')
        .map((s) => s.input.task)
        .sort(),
    ).toEqual(['t-bad', 't-ok']);
    expect(sent.filter((s) => s.command === 'DescribeTasksCommand')).toHaveLength(1);
    expect(plane.handled.map(({ ms: _ms, ...h }) => h).sort((a, b) => a.taskArn.localeCompare(b.taskArn))).toEqual([
      { taskArn: 't-bad', sampleName: 'bad.sh', ok: false, error: 'agent crashed' },
      { taskArn: 't-ok', sampleName: 'ok.sh', ok: true },
    ]);
  });

  it('collects queue events across receives, deleting each message once read', async () => {
    const sent: Sent[] = [];
    const batches = [
      [],
      [{ id: '1', 'detail-type': 'Sample Verdict', source: 'sandtrap', detail: { key: 'a' } }],
      [{ id: '2', 'detail-type': 'Sample Verdict', source: 'sandtrap', detail: { key: 'b' } }],
    ];
    const sqs = fakeClient<SQSClient>((command) => {
      if (command !== 'ReceiveMessageCommand') return {};
      const batch = batches.shift() ?? [];
      return {
        Messages: batch.map((event, i) => ({ Body: JSON.stringify(event), ReceiptHandle: `r${event.id}-${i}` })),
      };
    }, sent);
    const inbox = new EventInbox(sqs, 'http://queue');
    const found = await inbox.waitFor((e) => e['detail-type'] === 'Sample Verdict', {
      timeoutMs: 5_000,
      count: 2,
      what: 'two verdicts',
    });
    expect(found.map((e) => e.detail.key)).toEqual(['a', 'b']);
    expect(sent.filter((s) => s.command === 'DeleteMessageBatchCommand').map((s) => s.input.Entries)).toEqual([
      [{ Id: '0', ReceiptHandle: 'r1-0' }],
      [{ Id: '0', ReceiptHandle: 'r2-0' }],
    ]);
    await expect(inbox.waitFor((e) => e.detail.key === 'c', { timeoutMs: 1, what: 'event c' })).rejects.toThrow(
      'no event c on the queue within 1 ms (received: Sample Verdict a; Sample Verdict b)',
    );
  });
});
