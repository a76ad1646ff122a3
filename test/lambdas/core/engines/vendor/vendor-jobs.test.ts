import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type {
  ItemStatus,
  NativeReport,
  SandboxConnector,
  SampleSource,
} from '../../../../../lambdas/core/connector/connector';
import {
  AuthError,
  BadResponseError,
  ItemNotFoundError,
  QuotaExceededError,
  RateLimitedError,
  SampleTooLargeError,
  TransientError,
  UnsupportedFileError,
  VendorError,
} from '../../../../../lambdas/core/connector/errors';
import { admittedRequests } from '../../../../../lambdas/core/connector/request-gates';
import { reportKeys } from '../../../../../lambdas/core/contracts/report-keys';
import { VendorJobSchema, type Sample, type VendorJob } from '../../../../../lambdas/core/contracts/pipeline';
import type { HandlerDeps } from '../../../../../lambdas/core/runtime/deps';
import {
  advanceVendorJob,
  collectVendorReport,
  newVendorJob,
} from '../../../../../lambdas/core/engines/vendor/vendor-jobs';
import { type LocalAws, ManualClock, putSample, sampleOf, startLocalAws, UNIT, unitDeps } from '../../support';

/** A CAPE connector whose every answer the test scripts; it records what it was asked and how many requests each call had admitted. */
class ScriptedConnector implements SandboxConnector {
  readonly id = 'cape' as const;
  submitted: { fileName: string; body: string; admitted: number }[] = [];
  statusCalls: string[] = [];
  deleted: string[] = [];
  scored: unknown[] = [];
  reportAdmitted?: number;
  statusAdmitted: number[] = [];
  submitAnswer: () => Promise<string> = async () => `item-${this.submitted.length}`;
  statusAnswer: (itemId: string) => Promise<ItemStatus> = async () => ({
    done: false,
    failed: false,
    state: 'running',
  });
  reportAnswer: () => Promise<NativeReport> = async () => ({
    body: Readable.from([Buffer.from('{"malscore": 7.5}')]),
    contentType: 'application/json',
    extension: 'json',
  });
  deleteAnswer: () => Promise<boolean> = async () => true;
  initialWait: number | undefined = undefined;

  async available() {
    return true;
  }
  async submit(sample: SampleSource) {
    const chunks: Buffer[] = [];
    for await (const chunk of await sample.open()) chunks.push(Buffer.from(chunk));
    this.submitted.push({
      fileName: sample.fileName,
      body: Buffer.concat(chunks).toString(),
      admitted: admittedRequests(),
    });
    return this.submitAnswer();
  }
  initialWaitSeconds() {
    return this.initialWait;
  }
  async status(itemId: string) {
    this.statusCalls.push(itemId);
    this.statusAdmitted.push(admittedRequests());
    return this.statusAnswer(itemId);
  }
  async report() {
    this.reportAdmitted = admittedRequests();
    return this.reportAnswer();
  }
  score(report: unknown) {
    this.scored.push(report);
    return { score: 75, verdict: 'malicious' as const, native: { value: 7.5, scale: '0-10' } };
  }
  async delete(itemId: string) {
    this.deleted.push(itemId);
    return this.deleteAnswer();
  }
}

const CAPE = { id: 'cape', baseUrl: 'http://127.0.0.1:9/apiv2/' };

describe('vendor jobs: submit, poll and collect decisions', () => {
  let aws: LocalAws;
  let clock: ManualClock;
  let connector: ScriptedConnector;
  let deps: HandlerDeps;
  let sample: Sample;
  let body: string;
  let counter = 0;

  /** Fresh dependencies and a fresh sample in the ingest bucket, so that no test sees another's limiter counts. */
  async function setUp(vendor: Record<string, unknown> = {}, settings: Record<string, unknown> = {}) {
    counter++;
    // Ten days apart: a test that moves its clock to the next midnight spends nobody else's day.
    clock = new ManualClock(Date.UTC(2030, 0, 15, 12, 0, 0) + counter * 10 * 86_400_000);
    connector = new ScriptedConnector();
    deps = unitDeps(aws, {
      clock,
      settings: { engineDeadlineSeconds: 600, ...settings, vendors: [{ ...CAPE, ...vendor }] },
      connectors: () => connector,
    });
    body = `sample bytes ${counter}`;
    sample = sampleOf(body, { key: `in/dir/file-${counter}.js` });
    await putSample(aws, sample, body);
    // Every test starts with nothing learnt of the vendor's durations.
    await aws.clients.ddb.send(new DeleteCommand({ TableName: UNIT.table, Key: { pk: 'VENDOR#cape', sk: 'TIMING' } }));
  }

  /** A job that was submitted `ageSeconds` ago and is still pending. */
  function submitted(ageSeconds = 0, overrides: Partial<VendorJob> = {}): VendorJob {
    const job = newVendorJob(deps, 'cape');
    const submittedAt = clock.now() - ageSeconds * 1000;
    return {
      ...job,
      itemId: 'item-42',
      phase: 'pending',
      state: 'submitted',
      submittedAt,
      deadline: submittedAt + deps.config.engineDeadlineSeconds * 1000,
      ...overrides,
    };
  }

  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(async () => aws?.stop());
  afterEach(() => vi.restoreAllMocks());

  describe('newVendorJob', () => {
    it("starts queued, without an item, with the vendor's longest queue as its deadline", async () => {
      await setUp({ maxQueueSeconds: 1234 }, { engineDeadlineSeconds: 600 });
      const job = newVendorJob(deps, 'cape');
      expect(job).toMatchObject({ engine: 'cape', itemId: '', phase: 'queued', state: 'new', attempt: 0, admitted: 0 });
      expect(job.submittedAt).toBe(clock.now());
      expect(job.deadline - clock.now()).toBe(1_234_000);
      expect(VendorJobSchema.parse(job)).toEqual(job);
    });
  });

  describe('submission', () => {
    it("submits the object's bytes under its file name and waits the schedule's first step without a hint", async () => {
      await setUp();
      const job = await advanceVendorJob(deps, newVendorJob(deps, 'cape'), sample);
      expect(connector.submitted).toEqual([{ fileName: sample.key.split('/').pop(), body, admitted: 0 }]);
      expect(job).toMatchObject({ itemId: 'item-1', phase: 'pending', state: 'submitted', attempt: 0 });
      // The engine's deadline counts from the submission.
      expect(job.deadline).toBe(clock.now() + 600_000);
      expect(job.waitSeconds).toBe(deps.config.poll.scheduleSeconds[0]);
      expect(job.submittedAt).toBe(clock.now());
      expect(connector.statusCalls).toEqual([]);
      // The state payload stays valid for the next state.
      expect(VendorJobSchema.safeParse(job).success).toBe(true);
    });

    it('waits the analysis time the connector expects before the first poll', async () => {
      await setUp();
      connector.initialWait = 200;
      const job = await advanceVendorJob(deps, newVendorJob(deps, 'cape'), sample);
      expect(job.waitSeconds).toBe(200);
    });

    it("aims the first look at the vendor's learnt duration, never before the connector's own estimate", async () => {
      await setUp();
      await deps.vendorTimings.observe('cape', 290, 3, clock.now());
      expect((await advanceVendorJob(deps, newVendorJob(deps, 'cape'), sample)).waitSeconds).toBe(290);
      connector.initialWait = 400;
      expect((await advanceVendorJob(deps, newVendorJob(deps, 'cape'), sample)).waitSeconds).toBe(400);
    });

    it('names a sample whose key ends in a slash by its sha256', async () => {
      await setUp();
      const slashed = { ...sample, key: 'odd/' };
      await putSample(aws, slashed, body);
      await advanceVendorJob(deps, newVendorJob(deps, 'cape'), slashed);
      expect(connector.submitted[0]?.fileName).toBe(sample.sha256);
    });

    it('fails the step (for the state machine to retry or catch) when the object vanished before submission', async () => {
      await setUp();
      const gone = { ...sample, key: 'in/never-uploaded.bin' };
      const error = await advanceVendorJob(deps, newVendorJob(deps, 'cape'), gone).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VendorError);
      expect((error as Error).message).toMatch(/disappeared before submission/);
    });

    it('spends the daily submission budget, then queues for the next UTC day without calling the vendor', async () => {
      await setUp({ submissionsPerDay: 2 });
      // One minute before midnight UTC: the budget's window ends in 60 s.
      const midnight = Math.ceil(clock.now() / 86_400_000) * 86_400_000;
      clock.ms = midnight - 60_000;
      const first = await advanceVendorJob(deps, newVendorJob(deps, 'cape'), sample);
      const second = await advanceVendorJob(deps, newVendorJob(deps, 'cape'), sample);
      const third = await advanceVendorJob(deps, newVendorJob(deps, 'cape'), sample);
      expect([first.state, second.state, third.state]).toEqual(['submitted', 'submitted', 'queued']);
      expect(connector.submitted).toHaveLength(2);
      // One Wait, exactly until the next day's first slot.
      expect(third).toMatchObject({ itemId: '', phase: 'queued', waitSeconds: 60 });
      clock.ms = midnight;
      const retried = await advanceVendorJob(deps, third, sample);
      expect(retried).toMatchObject({ state: 'submitted', itemId: 'item-3', attempt: 0, phase: 'pending' });
    });

    it("ends the engine with quota_exceeded when the day's submissions are spent and the vendor says not to wait", async () => {
      await setUp({ submissionsPerDay: 1, whenDailyQuotaSpent: 'end' });
      await advanceVendorJob(deps, newVendorJob(deps, 'cape'), sample);
      const refused = await advanceVendorJob(deps, newVendorJob(deps, 'cape'), sample);
      expect(refused.result).toMatchObject({ status: 'quota_exceeded', reason: "today's 1 submissions are spent" });
      expect(connector.submitted).toHaveLength(1);
    });

    it('ends the engine with quota_exceeded rather than queue longer than maxQueueSeconds', async () => {
      // Two a day, a queue of at most 12 hours: the third must wait for tomorrow, too long.
      await setUp({ submissionsPerDay: 2, maxQueueSeconds: 43_200 });
      clock.ms = Math.floor(clock.now() / 86_400_000) * 86_400_000 + 3_600_000;
      await advanceVendorJob(deps, newVendorJob(deps, 'cape'), sample);
      await advanceVendorJob(deps, newVendorJob(deps, 'cape'), sample);
      const refused = await advanceVendorJob(deps, newVendorJob(deps, 'cape'), sample);
      expect(refused.result).toMatchObject({
        status: 'quota_exceeded',
        reason: 'no submission left within 43200 s (2 a day)',
      });
    });

    it('queues a burst on the submission lane with one exact wait each, and submits with its requests admitted', async () => {
      // 8 a minute: 2 for submissions, 6 for the follow-up of work at the vendor; one shard.
      await setUp({ requestsPerMinute: 8 }, { rateLimitShards: 1 });
      clock.ms = Math.floor(clock.now() / 60_000) * 60_000;
      const jobs = [];
      for (let i = 0; i < 5; i++) jobs.push(await advanceVendorJob(deps, newVendorJob(deps, 'cape'), sample));
      expect(jobs.map((j) => j.phase)).toEqual(['pending', 'queued', 'queued', 'queued', 'queued']);
      // Two per minute, spread over each minute's first 55 s; the first went at once.
      expect(jobs.map((j) => j.waitSeconds)).toEqual([15, 28, 60, 88, 120]);
      expect(jobs.slice(1).every((j) => j.admitted === 1)).toBe(true);
      expect(connector.submitted.map((s) => s.admitted)).toEqual([1]);
      // The queued job's Wait ends: its submission spends the admitted request.
      clock.ms += 28_000;
      const sent = await advanceVendorJob(deps, jobs[1] as VendorJob, sample);
      expect(sent).toMatchObject({ phase: 'pending', state: 'submitted' });
      expect(connector.submitted.map((s) => s.admitted)).toEqual([1, 1]);
    });
  });

  describe('polling', () => {
    it('marks the job ready when the vendor reports done, counting the attempt', async () => {
      await setUp();
      connector.statusAnswer = async () => ({ done: true, failed: false, state: 'reported' });
      const job = await advanceVendorJob(deps, submitted(10, { attempt: 2 }), sample);
      expect(connector.statusCalls).toEqual(['item-42']);
      expect(job).toMatchObject({ phase: 'ready', state: 'reported', attempt: 3, waitSeconds: 0 });
      expect(job.result).toBeUndefined();
    });

    it('learns how long the vendor takes from each ready report: down a little after a first-look find, up nine times as far after a miss', async () => {
      await setUp();
      connector.statusAnswer = async () => ({ done: true, failed: false, state: 'reported' });
      // Found at the third look, 300 s after submission: the first observation is taken as it is.
      await advanceVendorJob(deps, submitted(300, { attempt: 2 }), sample);
      expect(await deps.vendorTimings.readySeconds('cape')).toBe(300);
      // Found at the second look, 310 s in: the aim goes up 9% (more than a fifth of the 10 s difference).
      await advanceVendorJob(deps, submitted(310, { attempt: 1 }), sample);
      expect(await deps.vendorTimings.readySeconds('cape')).toBe(327);
      // Found at the fourth look after 500 s (the vendor slowed down): a fifth of the difference, more than 9%.
      await advanceVendorJob(deps, submitted(500, { attempt: 3 }), sample);
      expect(await deps.vendorTimings.readySeconds('cape')).toBeCloseTo(327 + 0.2 * (500 - 327), 1);
      // Found at the first look: it took no longer, so the next first look comes 1% earlier.
      await advanceVendorJob(deps, submitted(380), sample);
      expect(await deps.vendorTimings.readySeconds('cape')).toBeCloseTo(361.6 * 0.99, 1);
      // Still pending: nothing is learnt.
      connector.statusAnswer = async () => ({ done: false, failed: false, state: 'running' });
      await advanceVendorJob(deps, submitted(10), sample);
      expect(await deps.vendorTimings.readySeconds('cape')).toBeCloseTo(358, 0);
    });

    it('settles where about one analysis in ten needs a second look, for a vendor that always takes 300 s', async () => {
      await setUp();
      connector.statusAnswer = async () => ({ done: true, failed: false, state: 'reported' });
      await deps.vendorTimings.observe('cape', 300, 3, clock.now());
      let misses = 0;
      for (let i = 0; i < 200; i++) {
        const aim = (await deps.vendorTimings.readySeconds('cape')) as number;
        // The first look at the aim finds it when the aim is 300 s or more; else the next look, 30 s on, does.
        const found = aim >= 300;
        if (!found) misses++;
        await advanceVendorJob(deps, submitted(found ? aim : aim + 30, { attempt: found ? 0 : 1 }), sample);
      }
      expect(misses / 200).toBeGreaterThan(0.05);
      expect(misses / 200).toBeLessThan(0.15);
    });

    it('follows the backoff schedule for the next attempt when the vendor gives no estimate', async () => {
      await setUp();
      const waits = [];
      let job = submitted();
      for (let i = 0; i < 6; i++) {
        job = await advanceVendorJob(deps, job, sample);
        waits.push(job.waitSeconds);
      }
      const schedule = deps.config.poll.scheduleSeconds;
      expect(waits).toEqual([1, 2, 3, 4, 5, 6].map((n) => schedule[Math.min(n, schedule.length - 1)]));
      expect(job.attempt).toBe(6);
    });

    it("follows the vendor's estimate, bounded by the policy, and never waits past the deadline", async () => {
      await setUp();
      connector.statusAnswer = async () => ({ done: false, failed: false, state: 'running', pollAfterSeconds: 240 });
      expect((await advanceVendorJob(deps, submitted(), sample)).waitSeconds).toBe(240);
      connector.statusAnswer = async () => ({ done: false, failed: false, state: 'running', pollAfterSeconds: 1 });
      expect((await advanceVendorJob(deps, submitted(), sample)).waitSeconds).toBe(deps.config.poll.minWaitSeconds);
      // 600 s deadline, 590 s gone: ten seconds left.
      connector.statusAnswer = async () => ({ done: false, failed: false, state: 'running', pollAfterSeconds: 240 });
      expect((await advanceVendorJob(deps, submitted(590), sample)).waitSeconds).toBe(10);
    });

    it("ends the engine as failed when the vendor gives up, with the vendor's reason or state", async () => {
      await setUp();
      connector.statusAnswer = async () => ({
        done: false,
        failed: true,
        state: 'failed_analysis',
        reason: 'VM crashed',
      });
      const job = await advanceVendorJob(deps, submitted(), sample);
      expect(job).toMatchObject({ phase: 'ended', state: 'failed', waitSeconds: 0, attempt: 1 });
      expect(job.result).toEqual({
        engine: 'cape',
        status: 'failed',
        verdict: 'unknown',
        score: null,
        reason: 'VM crashed',
        itemId: 'item-42',
      });
      connector.statusAnswer = async () => ({ done: false, failed: true, state: 'failed_processing' });
      expect((await advanceVendorJob(deps, submitted(), sample)).result?.reason).toBe('vendor state failed_processing');
    });

    it('leaves a ready or ended job as it is: a repeated poll asks the vendor nothing', async () => {
      await setUp();
      for (const phase of ['ready', 'ended'] as const) {
        const job = submitted(0, { phase, state: 'reported', waitSeconds: 30, attempt: 4 });
        expect(await advanceVendorJob(deps, job, sample)).toEqual({ ...job, waitSeconds: 0 });
      }
      expect(connector.statusCalls).toEqual([]);
      expect(connector.submitted).toEqual([]);
    });
  });

  describe('deadline', () => {
    it('ends the engine with timeout at the deadline and deletes the item at the vendor', async () => {
      await setUp();
      const job = await advanceVendorJob(deps, submitted(600), sample);
      expect(job).toMatchObject({ phase: 'ended', state: 'timeout' });
      expect(job.result).toMatchObject({ status: 'timeout', verdict: 'unknown', score: null, itemId: 'item-42' });
      expect(job.result?.reason).toBe('no report within 600 s');
      expect(connector.deleted).toEqual(['item-42']);
      expect(connector.statusCalls).toEqual([]);
    });

    it('still polls one millisecond before the deadline', async () => {
      await setUp();
      const job = submitted(600);
      const polled = await advanceVendorJob(deps, { ...job, deadline: job.deadline + 1 }, sample);
      expect(polled.phase).toBe('pending');
      expect(polled.waitSeconds).toBe(1);
      expect(connector.statusCalls).toEqual(['item-42']);
    });

    it('ends with timeout even when the vendor refuses the deletion, and deletes nothing never submitted', async () => {
      await setUp();
      connector.deleteAnswer = async () => {
        throw new TransientError('cape', 'connection reset');
      };
      expect((await advanceVendorJob(deps, submitted(700), sample)).state).toBe('timeout');
      const unsent = await advanceVendorJob(deps, submitted(700, { itemId: '' }), sample);
      expect(unsent.state).toBe('timeout');
      expect(unsent.result).not.toHaveProperty('itemId');
      expect(connector.deleted).toEqual(['item-42']);
      expect(connector.submitted).toEqual([]);
    });
  });

  describe('vendor errors', () => {
    it.each([
      [AuthError, 'auth_failed'],
      [QuotaExceededError, 'quota_exceeded'],
      [UnsupportedFileError, 'unsupported'],
      [SampleTooLargeError, 'too_large'],
      [ItemNotFoundError, 'failed'],
    ] as const)('%o ends the engine with status %s and its message', async (ErrorClass, status) => {
      await setUp();
      connector.statusAnswer = async () => {
        throw new ErrorClass('cape', 'the vendor said no');
      };
      const job = await advanceVendorJob(deps, submitted(), sample);
      expect(job).toMatchObject({ phase: 'ended', state: status, attempt: 1 });
      expect(job.result).toMatchObject({ status, verdict: 'unknown', score: null, reason: 'cape: the vendor said no' });
    });

    it('ends the engine at submission too, without an item id', async () => {
      await setUp();
      connector.submitAnswer = async () => {
        throw new SampleTooLargeError('cape', 'over 100 MB');
      };
      const job = await advanceVendorJob(deps, newVendorJob(deps, 'cape'), sample);
      expect(job.result).toEqual({
        engine: 'cape',
        status: 'too_large',
        verdict: 'unknown',
        score: null,
        reason: 'cape: over 100 MB',
      });
    });

    it.each([
      new TransientError('cape', 'HTTP 503'),
      new BadResponseError('cape', 'no task id'),
      new Error('socket hang up'),
    ])('rethrows $name for the state machine to retry', async (error) => {
      await setUp();
      connector.statusAnswer = async () => {
        throw error;
      };
      await expect(advanceVendorJob(deps, submitted(), sample)).rejects.toBe(error);
    });

    it("turns the vendor's rate limit into a wait of its Retry-After plus a bounded jitter", async () => {
      await setUp();
      connector.statusAnswer = async () => {
        throw new RateLimitedError('cape', 'slow down', 100);
      };
      vi.spyOn(Math, 'random').mockReturnValue(0);
      const least = await advanceVendorJob(deps, submitted(), sample);
      expect(least).toMatchObject({ phase: 'pending', state: 'rate-limited', itemId: 'item-42', attempt: 1 });
      expect(least.waitSeconds).toBe(100);
      // Never below the policy's backoff for the attempt: the fourth refusal in a row waits 120 s.
      expect((await advanceVendorJob(deps, submitted(0, { attempt: 3 }), sample)).waitSeconds).toBe(120);
      vi.spyOn(Math, 'random').mockReturnValue(0.999);
      // The jitter is below 30 s, whatever the Retry-After.
      expect((await advanceVendorJob(deps, submitted(), sample)).waitSeconds).toBe(129);
    });

    it("keeps the rate-limit wait at least the poll policy's backoff and within the deadline", async () => {
      await setUp();
      vi.spyOn(Math, 'random').mockReturnValue(0.999);
      connector.statusAnswer = async () => {
        throw new RateLimitedError('cape', 'slow down', 0);
      };
      // Retry-After 0 (or 1) waits the policy's backoff for the attempt (30 s for the first poll), not
      // a second: a loop would eat the history.
      expect((await advanceVendorJob(deps, submitted(), sample)).waitSeconds).toBe(deps.config.poll.scheduleSeconds[1]);
      // Three seconds before the deadline, three seconds.
      expect((await advanceVendorJob(deps, submitted(597), sample)).waitSeconds).toBe(3);
      connector.statusAnswer = async () => {
        throw new RateLimitedError('cape', 'slow down', 3600);
      };
      expect((await advanceVendorJob(deps, submitted(580), sample)).waitSeconds).toBe(20);
    });
  });

  describe('collectVendorReport', () => {
    async function stored(key: string): Promise<Buffer> {
      const object = await aws.clients.s3.send(new GetObjectCommand({ Bucket: UNIT.reports, Key: key }));
      return gunzipSync(Buffer.from(await object.Body!.transformToByteArray()));
    }

    it('stores the native report gzip’d under its key, scores the parsed JSON and spends the requests reserved for the download', async () => {
      await setUp();
      const job = submitted(0, { phase: 'ready', itemId: 'task/7', admitted: 2 });
      const result = await collectVendorReport(deps, job, sample);
      const reportKey = reportKeys.engine(sample.sha256, 'cape', 'task/7', 'json');
      expect(result).toEqual({
        engine: 'cape',
        itemId: 'task/7',
        reportKey,
        status: 'completed',
        verdict: 'malicious',
        score: 75,
        native: { value: 7.5, scale: '0-10' },
      });
      expect(reportKey).toBe(`reports/${sample.sha256}/cape/task_7.json.gz`);
      expect((await stored(reportKey)).toString()).toBe('{"malscore": 7.5}');
      expect(connector.scored).toEqual([{ malscore: 7.5 }]);
      expect(connector.reportAdmitted).toBe(2);
    });

    it('hands a non-JSON report to the scorer as text', async () => {
      await setUp();
      connector.reportAnswer = async () => ({
        body: Readable.from([Buffer.from('<report><score>3</score></report>')]),
        contentType: 'application/xml',
        extension: 'xml',
      });
      const result = await collectVendorReport(deps, submitted(0, { phase: 'ready' }), sample);
      expect(connector.scored).toEqual(['<report><score>3</score></report>']);
      expect(result.reportKey).toMatch(/\.xml\.gz$/);
    });

    it('ends with status error for a JSON report that does not parse, keeping the report', async () => {
      await setUp();
      connector.reportAnswer = async () => ({
        body: Readable.from([Buffer.from('{"truncated": ')]),
        contentType: 'application/json',
        extension: 'json',
      });
      const result = await collectVendorReport(deps, submitted(0, { phase: 'ready' }), sample);
      expect(result).toMatchObject({
        status: 'error',
        verdict: 'unknown',
        score: null,
        reason: 'report is not valid JSON',
      });
      expect(connector.scored).toEqual([]);
      expect((await stored(result.reportKey!)).toString()).toBe('{"truncated": ');
    });

    it('stores but does not score a report over 64 MiB, and scores one of exactly 64 MiB', async () => {
      await setUp();
      const MiB = Buffer.alloc(1024 * 1024, 0x20);
      const reportOf = (extra: number) => async () => ({
        body: Readable.from([...Array.from({ length: 64 }, () => MiB), Buffer.alloc(extra, 0x20)]),
        contentType: 'text/plain',
        extension: 'txt',
      });
      connector.reportAnswer = reportOf(1);
      const over = await collectVendorReport(deps, submitted(0, { phase: 'ready', itemId: 'big' }), sample);
      expect(over).toMatchObject({ status: 'completed', verdict: 'unknown', score: null });
      expect(over.reason).toBe(`report of ${64 * 1024 * 1024 + 1} bytes is too large to score`);
      expect(connector.scored).toEqual([]);
      expect((await stored(over.reportKey!)).length).toBe(64 * 1024 * 1024 + 1);

      connector.reportAnswer = reportOf(0);
      const exact = await collectVendorReport(deps, submitted(0, { phase: 'ready', itemId: 'exact' }), sample);
      expect(exact).toMatchObject({ status: 'completed', score: 75 });
      expect((connector.scored[0] as string).length).toBe(64 * 1024 * 1024);
    });

    it('fails when the report stream breaks off', async () => {
      await setUp();
      connector.reportAnswer = async () => ({
        body: Readable.from(
          (async function* () {
            yield Buffer.from('{"partial":');
            throw new TransientError('cape', 'connection reset mid-report');
          })(),
        ),
        contentType: 'application/json',
        extension: 'json',
      });
      await expect(collectVendorReport(deps, submitted(0, { phase: 'ready' }), sample)).rejects.toThrow(
        /connection reset mid-report/,
      );
      expect(connector.scored).toEqual([]);
    });
  });
});
