import { connect } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BEHAVIOR_KEYS,
  DetonationReportSchema,
  REPORT_LIMITS,
  type Indicator,
} from '../../lambdas/core/contracts/detonation-report';
import { parseAgentConfig } from '../../lambdas/core/contracts/agent-config';
import { Clip } from '../../container/agent/bounded';
import { declaredLength, FakeNetwork } from '../../container/agent/fakenet';
import type { Observation, ProcessState } from '../../container/agent/observations';
import type { FakeNetworkLog } from '../../container/agent/fakenet';
import type { GuardLog } from '../../container/agent/guard';
import { networkObservations } from '../../container/agent/network-log';
import { ActivityRecorder } from '../../container/agent/recorder';
import { assembleReport, emptyBehavior, type ReportParts } from '../../container/agent/report';
import type { RawSample } from '../../container/agent/run';
import { criticalBehavior, reportParts, T0 } from './report-parts';

// Every value a sample controls, as hostile as it gets: numbers that are not finite, negative,
// fractional or huge; strings that are long, full of control characters or invalid UTF-16 (what
// invalid UTF-8 becomes once decoded), or not strings at all; lists far longer than the report keeps.
const hostileNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -1, 0, 1e300, Number.MAX_SAFE_INTEGER + 2, 65536, 0.5),
);
const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 590, maxLength: 1200 }),
  fc.constantFrom('\u001b[31m\r\u0007', '\ud800', 'a\udc00b', 'x'.repeat(770), `${'é'.repeat(599)}\ud83d\ude00`),
);
const hostileValue = fc.oneof(hostileNumber, hostileString, fc.constant(null), fc.constant(undefined));
const nullableString = fc.oneof(hostileString, fc.constant(null));
const hostileList = fc.oneof(
  fc.array(hostileString, { maxLength: 5 }),
  fc.array(fc.constant('a'), { minLength: 40, maxLength: 80 }),
  hostileValue,
);

const observation: fc.Arbitrary<Observation> = fc.oneof(
  fc.record({
    type: fc.constant('file'),
    op: fc.constantFrom('read', 'write', 'rename-from', 'delete'),
    path: fc.oneof(
      fc.constantFrom('/tmp/x', '/etc/passwd'),
      hostileString.map((s) => `/tmp/${s}`),
    ),
    target: nullableString,
    flags: fc.oneof(fc.constant('O_WRONLY|O_CREAT|O_TRUNC'), nullableString),
    mode: hostileNumber,
    ok: fc.boolean(),
    errno: nullableString,
    time: hostileNumber,
    pid: hostileNumber,
    line: hostileString,
  }),
  fc.record({
    type: fc.constant('exec'),
    pid: hostileNumber,
    path: hostileString,
    argv: hostileList,
    uid: hostileNumber,
    ok: fc.boolean(),
    errno: nullableString,
    parentExe: nullableString,
    time: hostileNumber,
    line: hostileString,
  }),
  fc.record({
    type: fc.constant('connect'),
    source: fc.constant('guard'),
    call: fc.constant('connect'),
    protocol: fc.oneof(fc.constantFrom('tcp', 'udp', 'unix'), hostileString),
    address: hostileString,
    port: hostileNumber,
    hostname: nullableString,
    action: fc.oneof(fc.constantFrom('redirected', 'blocked'), hostileString),
    reason: nullableString,
    result: hostileString,
    time: hostileNumber,
    pid: hostileNumber,
    line: hostileString,
  }),
  fc.record({
    type: fc.constant('dns'),
    name: hostileString,
    qtype: hostileString,
    answer: nullableString,
    time: hostileNumber,
    pid: fc.constant(null),
    line: hostileString,
  }),
  fc.record({
    type: fc.constant('http'),
    method: hostileString,
    host: hostileString,
    path: hostileString,
    userAgent: nullableString,
    port: hostileNumber,
    bodyBytes: hostileNumber,
    bodyPreview: hostileString,
    time: hostileNumber,
    pid: fc.constant(null),
    line: hostileString,
  }),
  fc.record({
    type: fc.constant('tls'),
    serverName: hostileString,
    port: hostileNumber,
    time: hostileNumber,
    pid: fc.constant(null),
    line: hostileString,
  }),
  fc.record({
    type: fc.constant('payload'),
    protocol: fc.constantFrom('tcp', 'udp'),
    address: nullableString,
    port: hostileNumber,
    hostname: nullableString,
    bytes: hostileNumber,
    preview: hostileString,
    time: hostileNumber,
    pid: fc.constant(null),
    line: hostileString,
  }),
) as unknown as fc.Arbitrary<Observation>;

const processState = fc.record({
  pid: hostileNumber,
  ppid: fc.oneof(hostileNumber, fc.constant(null)),
  exe: nullableString,
  argv: fc.array(hostileString, { maxLength: 40 }),
  uid: fc.oneof(hostileNumber, fc.constant(null)),
  start: hostileNumber,
  end: fc.oneof(hostileNumber, fc.constant(null)),
  exitCode: fc.oneof(hostileNumber, fc.constant(null)),
  signal: nullableString,
  member: fc.option(hostileString, { nil: undefined }),
}) as unknown as fc.Arbitrary<ProcessState>;

const rawSample = fc.record({
  time: hostileNumber,
  processes: hostileNumber,
  cpuSeconds: hostileNumber,
  rssBytes: hostileNumber,
  diskBytes: hostileNumber,
  traceBytes: hostileNumber,
}) as unknown as fc.Arbitrary<RawSample>;

const indicator = fc.record({
  id: fc.constantFrom('network.fake-c2', 'persistence.shell-init', 'Bad Id'),
  title: hostileString,
  severity: fc.constantFrom('low', 'medium', 'high', 'critical'),
  attack: fc.constantFrom([], ['T1071']),
  evidence: fc.array(hostileString, { maxLength: 14 }),
  occurrences: hostileNumber,
  truncated: fc.boolean(),
}) as unknown as fc.Arbitrary<Indicator>;

const behavior = fc.array(fc.tuple(fc.constantFrom(...BEHAVIOR_KEYS), indicator), { maxLength: 6 }).map((pairs) => {
  const b = emptyBehavior();
  for (const [key, i] of pairs) b[key].push(i);
  return b;
});

const config = parseAgentConfig({}, { allowInternet: false });

const parts = (overrides: Partial<ReportParts>): ReportParts => reportParts({ config, ...overrides });
const critical = criticalBehavior;

describe('recorded values are bounded', () => {
  it('a 400-digit Content-Length stays a finite byte count', () => {
    expect(declaredLength('9'.repeat(400))).toBe(Number.MAX_SAFE_INTEGER);
    expect(declaredLength('000123')).toBe(123);
    expect(declaredLength(undefined)).toBe(0);
    const recorder = new ActivityRecorder(config, '/home/s', T0);
    recorder.observe({
      type: 'http',
      time: T0 + 1,
      pid: null,
      line: 'x',
      method: 'POST',
      host: 'c2.example.test',
      path: '/',
      userAgent: null,
      port: 80,
      bodyBytes: Number('9'.repeat(400)),
      bodyPreview: '',
    });
    const [request] = recorder.network().httpRequests.items;
    expect(request?.bodyBytes).toBe(Number.MAX_SAFE_INTEGER);
    expect(request?.truncated).toBe(true);
  });

  it('a 770-character DNS name is cut with a flag, and so is the hostname of its connection', () => {
    const name = `${'a'.repeat(63)}.`.repeat(12).slice(0, 770);
    const recorder = new ActivityRecorder(config, '/home/s', T0);
    recorder.observe({ type: 'dns', time: T0, pid: null, line: 'x', name, qtype: 'A', answer: '127.10.0.1' });
    recorder.observe({
      type: 'connect',
      source: 'guard',
      call: 'connect',
      time: T0,
      pid: 42,
      line: 'x',
      protocol: 'tcp',
      address: '127.10.0.1',
      port: 80,
      hostname: name,
      action: 'redirected',
      reason: null,
      result: 'ok',
    });
    const network = recorder.network();
    const [query] = network.dnsQueries.items;
    expect(query?.name.length).toBe(REPORT_LIMITS.text);
    expect(query?.name.endsWith('...')).toBe(true);
    expect(query?.truncated).toBe(true);
    expect(network.connections.items[0]?.hostname?.length).toBe(REPORT_LIMITS.text);
    expect(network.connections.items[0]?.truncated).toBe(true);
  });

  it('short, well-formed values pass unchanged and unflagged', () => {
    const clip = new Clip();
    expect(clip.text('c2.example.test')).toBe('c2.example.test');
    expect(clip.count(12)).toBe(12);
    expect(clip.port(443)).toBe(443);
    expect(clip.flag()).toEqual({});
    expect(new Clip().text('a\ud800b')).toBe('a\ufffdb');
  });

  it('a negative zero comes out as the zero JSON will read back (found by the property below)', () => {
    const clip = new Clip();
    for (const value of [clip.port(-0), clip.uid(-0), clip.integer(-0), clip.count(-0), clip.seconds(-0)])
      expect(Object.is(value, 0)).toBe(true);
  });

  it('the fake network records a request with a 400-digit Content-Length as a finite count', async () => {
    const net = await FakeNetwork.start();
    try {
      const response = await new Promise<string>((resolve, reject) => {
        const socket = connect(net.ports.tcp, '127.0.0.1', () =>
          socket.write(
            `POST /x HTTP/1.1\r\nHost: c2.example.test\r\nContent-Length: ${'9'.repeat(400)}\r\n\r\n${'b'.repeat(4096)}`,
          ),
        );
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk.toString('latin1');
        });
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      expect(response).toMatch(/^HTTP\/1\.1 200/);
      const [record] = net.records().http;
      expect(Number.isSafeInteger(record?.bodyBytes)).toBe(true);
    } finally {
      await net.close();
    }
  });
});

describe('report assembly cannot fail on sample-controlled data', () => {
  it('validates whatever hostile observations, processes and samples were recorded', () => {
    fc.assert(
      fc.property(
        fc.array(observation, { maxLength: 25 }),
        fc.array(processState, { maxLength: 5 }),
        fc.array(rawSample, { maxLength: 5 }),
        behavior,
        fc.constantFrom('completed', 'error', 'unsupported'),
        (observations, processes, samples, b, status) => {
          const recorder = new ActivityRecorder(config, '/home/s', T0);
          for (const o of observations) recorder.observe(o);
          recorder.addProcesses(processes);
          recorder.addSamples(samples);
          const report = assembleReport(parts({ status, recorder, behavior: b }));
          expect(DetonationReportSchema.safeParse(report).success).toBe(true);
          expect(JSON.parse(JSON.stringify(report))).toEqual(report);
        },
      ),
      { numRuns: 80 },
    );
  }, 30_000);

  it("validates whatever the guard's log and the fake network recorded, joined", () => {
    const clientPort = fc.oneof(fc.constantFrom(40000, 40001), hostileNumber);
    const guardConnection = fc.record({
      time: hostileNumber,
      pid: hostileNumber,
      call: fc.constantFrom('connect', 'sendto'),
      family: fc.constantFrom('inet', 'inet6', 'unix', 'other'),
      proto: fc.constantFrom('tcp', 'udp', 'other', null),
      addr: hostileString,
      port: fc.oneof(hostileNumber, fc.constant(null)),
      action: fc.oneof(fc.constantFrom('redirect', 'pass', 'block', 'continue'), hostileString),
      reason: hostileString,
      localPort: clientPort,
      result: fc.oneof(hostileNumber, fc.constant(null)),
      line: hostileString,
    });
    const base = { time: hostileNumber, clientPort };
    const log = fc.record({
      dns: fc.array(fc.record({ ...base, name: hostileString, qtype: hostileString, answer: nullableString }), {
        maxLength: 4,
      }),
      http: fc.array(
        fc.record({
          ...base,
          method: hostileString,
          host: hostileString,
          path: hostileString,
          userAgent: nullableString,
          bodyBytes: hostileNumber,
          bodyPreview: hostileString,
        }),
        { maxLength: 4 },
      ),
      tls: fc.array(fc.record({ ...base, serverName: hostileString }), { maxLength: 4 }),
      payloads: fc.array(
        fc.record({ ...base, protocol: fc.constantFrom('tcp', 'udp'), bytes: hostileNumber, preview: hostileString }),
        { maxLength: 4 },
      ),
      dropped: hostileNumber,
    }) as unknown as fc.Arbitrary<FakeNetworkLog>;
    fc.assert(
      fc.property(fc.array(guardConnection, { maxLength: 6 }), log, hostileString, (connections, fakenet, name) => {
        const guard = { started: true, mountNamespace: null, connections, dropped: 0 } as unknown as GuardLog;
        const recorder = new ActivityRecorder(config, '/home/s', T0);
        for (const o of networkObservations(guard, fakenet, () => name)) recorder.observe(o);
        const report = assembleReport(parts({ recorder }));
        expect(DetonationReportSchema.safeParse(report).success).toBe(true);
      }),
      { numRuns: 80 },
    );
  }, 30_000);

  it('validates hostile report parts: names, errors, output, notes, times', () => {
    fc.assert(
      fc.property(
        hostileString,
        hostileString,
        hostileString,
        fc.array(hostileString, { maxLength: 30 }),
        hostileNumber,
        hostileNumber,
        (name, error, tail, notes, startedAt, bytes) => {
          const report = assembleReport(
            parts({
              status: 'error',
              error,
              sample: { ...parts({}).sample, name },
              startedAt,
              finishedAt: startedAt,
              output: { bytes, tail },
              notes,
              behavior: critical('network'),
            }),
          );
          expect(DetonationReportSchema.safeParse(report).success).toBe(true);
          expect(report.verdict).toBe('malicious');
        },
      ),
      { numRuns: 100 },
    );
  }, 30_000);

  it.each([-62167219200.001, -1, 253402300800, Number.NaN, Number.POSITIVE_INFINITY])(
    'carries a start time of %s seconds as a valid ISO date (now), never an extended year',
    (startedAt) => {
      const report = assembleReport(parts({ startedAt, finishedAt: startedAt }));
      expect(DetonationReportSchema.safeParse(report).success).toBe(true);
      expect(report.startedAt).toMatch(/^\d{4}-/);
    },
  );

  it('a section that still does not validate is left out, and the indicators keep the verdict', () => {
    const recorder = new ActivityRecorder(config, '/home/s', T0);
    const broken = Object.assign(Object.create(Object.getPrototypeOf(recorder)), recorder) as ActivityRecorder;
    broken.processList = () => ({ items: [{ pid: -1 } as never], count: 1, truncated: false });
    broken.network = () => {
      throw new Error('boom');
    };
    const report = assembleReport(parts({ recorder: broken, behavior: critical('persistence') }));
    expect(report.processes).toEqual({ items: [], count: 0, truncated: false });
    expect(report.network.dnsQueries.count).toBe(0);
    expect(report.notes.items.join('\n')).toMatch(/network section was left out: boom/);
    expect(report.notes.items.join('\n')).toMatch(/did not validate: processes/);
    expect(report.verdict).toBe('malicious');
  });

  it('as a last resort, a minimal error report still carries the verdict', () => {
    const report = assembleReport(
      parts({
        limits: { cpuSeconds: Number.NaN } as never,
        capabilities: null as never,
        behavior: critical('evasion'),
      }),
    );
    expect(DetonationReportSchema.safeParse(report).success).toBe(true);
    expect(report.verdict).toBe('malicious');
  });
});

describe('a failed run still scores what it saw', () => {
  it('scores the indicators of an error report; an error without indicators is unknown', () => {
    const partial = assembleReport(
      parts({ status: 'error', error: 'the sample did not start', behavior: critical('network') }),
    );
    expect(partial.status).toBe('error');
    expect(partial.score).toBeGreaterThanOrEqual(70);
    expect(partial.verdict).toBe('malicious');
    const empty = assembleReport(parts({ status: 'error', error: 'x' }));
    expect(empty.score).toBeNull();
    expect(empty.verdict).toBe('unknown');
  });
});
