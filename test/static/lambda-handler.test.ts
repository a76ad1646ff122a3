import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineResultSchema } from '../../lambdas/core/contracts/pipeline';
import { StaticReportSchema } from '../../lambdas/core/contracts/static-report';
import { LOCAL_CREDENTIALS } from '../../local/services';
import { StaticWorkerPool, ensureStaticVenv } from '../../local/static-worker';
import { eicar } from './documents';
import { ROOT, python, type StaticReport } from './engine';

/**
 * The static engine's Lambda handler (static/sandtrap_static/lambda_function.py) end to end, run
 * as the local runtime runs it: through StaticWorkerPool's Python workers, against s3rver on
 * 127.0.0.1 with an ingest and a reports bucket (user rule packs live under `rules/` in the latter).
 */

const INGEST = 'ingest';
const REPORTS = 'reports';
/** static.maxFileBytes for these tests: small, so "too large" needs no big object. */
const MAX_FILE_BYTES = 64 * 1024;

let dir: string;
let server: S3rver;
let endpoint: string;
let s3: S3Client;
let pool: StaticWorkerPool;

const hash = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');

/** The event the state machine sends for `data` stored at `key` (the object need not exist). */
function sampleEvent(key: string, data: Buffer, sample: Record<string, unknown> = {}) {
  return {
    engine: 'static',
    sample: {
      bucket: INGEST,
      key,
      versionId: null,
      uploadId: `upload-${key}`,
      size: data.length,
      sha256: hash('sha256', data),
      sha1: hash('sha1', data),
      md5: hash('md5', data),
      fileType: 'text',
      mimeType: 'text/plain',
      ...sample,
    },
  };
}

async function upload(key: string, content: string | Buffer) {
  const data = Buffer.from(content);
  await s3.send(new PutObjectCommand({ Bucket: INGEST, Key: key, Body: data }));
  return sampleEvent(key, data);
}

const putRule = (key: string, source: string) =>
  s3.send(new PutObjectCommand({ Bucket: REPORTS, Key: key, Body: source }));
const deleteRule = (key: string) => s3.send(new DeleteObjectCommand({ Bucket: REPORTS, Key: key }));

async function readReport(key: string) {
  const object = await s3.send(new GetObjectCommand({ Bucket: REPORTS, Key: key }));
  const report = JSON.parse(await object.Body!.transformToString()) as StaticReport & {
    sample: { sha256: string; bucket: string; key: string; versionId: string | null };
    score: number | null;
    verdict: string;
  };
  return { report, contentType: object.ContentType };
}

/** The worker environment the local runtime gives it: the function's settings and the local S3. */
function workerEnv(settings: unknown): Record<string, string> {
  return {
    SANDTRAP_REPORTS_BUCKET: REPORTS,
    SANDTRAP_SETTINGS: JSON.stringify(settings),
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
    // The workers' rule-pack mirrors go here, removed with the rest (a killed worker leaves its own).
    TMPDIR: join(dir, 'tmp'),
  };
}

const MARKER = 'SANDTRAP-ACME-MARKER-5d1c';
const markerRule = (marker: string) =>
  `rule acme_marker {\n  meta:\n    severity = "critical"\n    category = "execution"\n    threat = "Acme-Marker"\n    confidence = "high"\n  strings:\n    $m = "${marker}"\n  condition:\n    $m\n}\n`;

beforeAll(async () => {
  ensureStaticVenv(ROOT);
  dir = mkdtempSync(join(tmpdir(), 'sandtrap-static-lambda-'));
  mkdirSync(join(dir, 'tmp'));
  server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: join(dir, 's3'),
    configureBuckets: [{ name: INGEST }, { name: REPORTS }],
  });
  const { port } = await server.run();
  endpoint = `http://127.0.0.1:${port}`;
  s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
  // One worker: the rule-pack tests check that the same process picks up new rules (listing the
  // packs for every analysis: refreshSeconds 0; the default trusts a listing for a minute).
  pool = new StaticWorkerPool({
    root: ROOT,
    size: 1,
    env: workerEnv({
      policy: { suspiciousAt: 40, maliciousAt: 70 },
      static: { maxFileBytes: MAX_FILE_BYTES, rulePacks: { refreshSeconds: 0 } },
    }),
  });
}, 420_000);

afterAll(async () => {
  await pool?.close();
  s3?.destroy();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the static Lambda handler', () => {
  it('finds EICAR malicious (90), names the threat and writes the full report', async () => {
    const event = await upload('incoming/eicar.com', eicar());
    const result = await pool.invoke(event);
    const sha256 = event.sample.sha256;
    expect(result).toEqual({
      engine: 'static',
      status: 'completed',
      verdict: 'malicious',
      score: 90,
      reportKey: `reports/${sha256}/static.json`,
      threats: [{ name: 'EICAR-Test-File', engine: 'static', category: 'test-file', confidence: 'high' }],
    });
    // What the TypeScript side will parse it with.
    expect(EngineResultSchema.safeParse(result).success).toBe(true);

    const { report, contentType } = await readReport(`reports/${sha256}/static.json`);
    expect(contentType).toBe('application/json');
    // What Finalize will parse it with.
    expect(StaticReportSchema.safeParse(report).success).toBe(true);
    expect(report.findings.map((f) => f.id)).toContain('yara.eicar_test_file');
    expect(report).toMatchObject({
      sha256,
      size: 68,
      score: 90,
      verdict: 'malicious',
      errors: [],
      sample: { sha256, bucket: INGEST, key: 'incoming/eicar.com', versionId: null },
    });
  });

  it('calls an empty sample benign without reading it', async () => {
    // The object does not exist: any GetObject would fail the invocation.
    const result = await pool.invoke(sampleEvent('never/uploaded.bin', Buffer.alloc(0)));
    expect(result).toEqual({
      engine: 'static',
      status: 'completed',
      verdict: 'benign',
      score: 0,
      reportKey: null,
      reason: 'empty',
      threats: [],
    });
    expect(EngineResultSchema.safeParse(result).success).toBe(true);
  });

  it('refuses to judge bytes that are not the ones triage hashed (ObjectChanged)', async () => {
    await upload('incoming/replaced.txt', 'the replacement\n');
    const triaged = sampleEvent('incoming/replaced.txt', Buffer.from('what triage saw\n'));
    await expect(pool.invoke(triaged)).rejects.toMatchObject({ name: 'ObjectChanged' });
    // Same size, other bytes.
    const sameSize = sampleEvent('incoming/replaced.txt', Buffer.from('the Replacement\n'));
    await expect(pool.invoke(sameSize)).rejects.toMatchObject({ name: 'ObjectChanged' });
  });

  it('reports a sample over static.maxFileBytes as too_large, without reading it', async () => {
    const result = await pool.invoke(sampleEvent('never/big.bin', Buffer.alloc(0), { size: MAX_FILE_BYTES + 1 }));
    expect(result).toMatchObject({ engine: 'static', status: 'too_large', verdict: 'unknown', score: null });
    expect((result as { reason: string }).reason).toContain(`limit of ${MAX_FILE_BYTES} bytes`);
    expect(EngineResultSchema.safeParse(result).success).toBe(true);
  });

  it('an engine failure is status error (no score), with a report that still validates', () => {
    const data = Buffer.from('anything\n');
    const out = python(
      `
import io, json, os, sys
os.environ.update({"SANDTRAP_REPORTS_BUCKET": "reports", "SANDTRAP_SETTINGS": "{}"})
from sandtrap_static import lambda_function

class Body(io.BytesIO):
    pass

class FakeS3:
    def __init__(self): self.puts = []
    def get_object(self, **_): return {"Body": Body(sys.argv[2].encode())}
    def list_objects_v2(self, **_): return {"Contents": [], "IsTruncated": False}
    def put_object(self, **request): self.puts.append(request)

def broken(*_args): raise RuntimeError("a bug")

fake = FakeS3()
lambda_function._s3 = fake
lambda_function.guarded_analyze = broken
result = lambda_function.handler(json.loads(sys.argv[1]))
print(json.dumps({"result": result, "report": json.loads(fake.puts[0]["Body"]), "key": fake.puts[0]["Key"]}))
`,
      [JSON.stringify(sampleEvent('incoming/any.txt', data)), data.toString()],
    );
    const { result, report, key } = JSON.parse(out);
    expect(result).toEqual({
      engine: 'static',
      status: 'error',
      verdict: 'unknown',
      score: null,
      reportKey: key,
      threats: [],
      reason: 'static engine failed: RuntimeError: a bug',
    });
    expect(EngineResultSchema.safeParse(result).success).toBe(true);
    expect(report).toMatchObject({ verdict: 'unknown', errors: ['static engine failed: RuntimeError: a bug'] });
    expect(report).not.toHaveProperty('score');
    expect(StaticReportSchema.safeParse(report).success).toBe(true);
  });

  it.each([
    ['SlowDown', 'TransientAwsError'],
    ['InternalError', 'TransientAwsError'],
    ['ServiceUnavailable', 'TransientAwsError'],
    ['AccessDenied', 'ClientError'],
  ])('S3 answering %s raises %s (the workflow retries only the transient ones)', (code, expected) => {
    const data = Buffer.from('anything\n');
    const out = python(
      `
import json, os, sys
os.environ.update({"SANDTRAP_REPORTS_BUCKET": "reports", "SANDTRAP_SETTINGS": "{}"})
from botocore.exceptions import ClientError
from sandtrap_static import lambda_function

class FakeS3:
    def get_object(self, **_):
        raise ClientError({"Error": {"Code": sys.argv[2], "Message": "try later"}}, "GetObject")

lambda_function._s3 = FakeS3()
try:
    lambda_function.handler(json.loads(sys.argv[1]))
    print("no error")
except Exception as error:
    print(type(error).__name__)
`,
      [JSON.stringify(sampleEvent('incoming/any.txt', data)), code],
    );
    expect(out.trim()).toBe(expected);
  });

  it('rejects an event that is not the contract with InvalidInput', async () => {
    const good = sampleEvent('incoming/x.txt', Buffer.from('x'));
    const invalid: unknown[] = [
      null,
      {},
      { engine: 'detonation', sample: good.sample },
      { engine: 'static', sample: { ...good.sample, sha256: good.sample.sha256.toUpperCase() } },
      { engine: 'static', sample: { ...good.sample, sha256: 'abc' } },
      { engine: 'static', sample: { ...good.sample, size: -1 } },
      { engine: 'static', sample: { ...good.sample, size: '1' } },
      { engine: 'static', sample: { ...good.sample, size: 1.5 } },
      { engine: 'static', sample: { ...good.sample, key: '' } },
      { engine: 'static', sample: { ...good.sample, versionId: 7 } },
      { engine: 'static', sample: { ...good.sample, bucket: undefined } },
    ];
    for (const event of invalid) {
      await expect(pool.invoke(event), JSON.stringify(event)).rejects.toMatchObject({ name: 'InvalidInput' });
    }
  });
});

/** Python: a rule-pack bucket that counts listings and downloads; a key in `broken` cannot be read. */
const FAKE_RULE_BUCKET = `
import json, os, sys
from sandtrap_static.s3_rule_packs import RulePackMirror

class Body:
    def __init__(self, data): self.data = data
    def read(self, amount=None): return self.data[:amount]
    def close(self): pass

class FakeS3:
    """A listing is the keys, ETags and sizes of what was put."""
    def __init__(self): self.objects, self.gets, self.lists, self.broken = {}, 0, 0, set()
    def list_objects_v2(self, Bucket, Prefix, MaxKeys, **_):
        self.lists += 1
        contents = [{"Key": k, "ETag": e, "Size": len(d)} for k, (d, e) in sorted(self.objects.items())
                    if k.startswith(Prefix)]
        return {"Contents": contents, "IsTruncated": False}
    def get_object(self, Bucket, Key):
        if Key in self.broken: raise ValueError("unreadable")
        self.gets += 1
        data, etag = self.objects[Key]
        return {"Body": Body(data), "ETag": etag}
`;

describe('user rule packs from S3', () => {
  it('apply without a restart: a new pack changes the verdict, an edit takes it back', async () => {
    const event = await upload('incoming/notes.txt', `meeting notes\n${MARKER}\n`);
    const before = (await pool.invoke(event)) as { verdict: string; threats: unknown[] };
    expect(before).toMatchObject({ status: 'completed', verdict: 'benign', threats: [] });
    const [pid] = pool.pids;

    await putRule('rules/acme/marker.yar', markerRule(MARKER));
    try {
      const matched = await pool.invoke(event);
      expect(matched).toMatchObject({
        status: 'completed',
        verdict: 'malicious',
        score: 90,
        threats: [{ name: 'Acme-Marker', engine: 'static', category: 'execution', confidence: 'high' }],
      });
      const { report } = await readReport((matched as { reportKey: string }).reportKey);
      expect(report.yara.find((y) => y.rule === 'acme_marker')?.namespace).toBe('user_acme');

      await putRule('rules/acme/marker.yar', markerRule('SANDTRAP-ACME-OTHER-MARKER'));
      expect(await pool.invoke(event)).toMatchObject({ status: 'completed', verdict: 'benign', threats: [] });
      // All of it in the one worker that was already running.
      expect(pool.pids).toEqual([pid]);
    } finally {
      await deleteRule('rules/acme/marker.yar');
    }
  });

  it('a pack that does not compile is an error in the report, not a failure', async () => {
    await putRule('rules/broken/broken.yar', 'rule broken { condition: undefined_identifier }\n');
    try {
      const event = await upload('incoming/eicar-2.com', eicar());
      const result = await pool.invoke(event);
      expect(result).toMatchObject({ status: 'completed', verdict: 'malicious' });
      const { report } = await readReport((result as { reportKey: string }).reportKey);
      expect(report.errors).toHaveLength(1);
      // Named by where the user put it, not by the worker's temp directory.
      expect(report.errors[0]).toContain('s3://reports/rules/broken');
      expect(report.errors[0]).toContain('broken.yar');
    } finally {
      await deleteRule('rules/broken/broken.yar');
    }
  });

  it('a rules location that cannot be listed is an error in the report; the bundled rules apply', async () => {
    const other = new StaticWorkerPool({
      root: ROOT,
      size: 1,
      env: workerEnv({ static: { rulePacks: { bucket: 'no-such-rules-bucket', prefix: 'packs' } } }),
    });
    try {
      const result = await other.invoke(await upload('incoming/eicar-3.com', eicar()));
      expect(result).toMatchObject({ status: 'completed', verdict: 'malicious' });
      const { report } = await readReport((result as { reportKey: string }).reportKey);
      expect(report.errors).toEqual([
        expect.stringMatching(/cannot list s3:\/\/no-such-rules-bucket\/packs\/: NoSuchBucket/),
      ]);
    } finally {
      await other.close();
    }
  });

  it('downloads only when the listing changed, into a fresh directory, and removes the old one', () => {
    const mirrors = join(dir, 'mirrors');
    mkdirSync(mirrors);
    const out = python(
      `
${FAKE_RULE_BUCKET}
s3, mirror, steps = FakeS3(), RulePackMirror(temp_root=sys.argv[1]), []
def step():
    dirs, errors = mirror.load(s3, "reports", "rules/")
    steps.append({"gets": s3.gets, "packs": [os.path.basename(d) for d in dirs], "errors": errors,
                  "root": str(mirror.root), "files": sorted(os.listdir(dirs[0])) if dirs else []})
s3.objects["rules/acme/x.yar"] = (b"rule x { condition: false }", '"1"')
step(); step()
s3.objects["rules/acme/x.yar"] = (b"rule x { condition: true }", '"2"')
s3.objects["rules/y.yar"] = (b"rule y { condition: false }", '"3"')
step()
s3.objects.clear()
step()
print(json.dumps({"steps": steps, "left": os.listdir(sys.argv[1])}))
`,
      [mirrors],
    );
    const { steps, left } = JSON.parse(out) as {
      steps: { gets: number; packs: string[]; errors: string[]; root: string; files: string[] }[];
      left: string[];
    };
    expect(steps.map(({ gets, packs, files }) => ({ gets, packs, files }))).toEqual([
      { gets: 1, packs: ['acme'], files: ['x.yar'] },
      // Unchanged listing: nothing downloaded, the same directory.
      { gets: 1, packs: ['acme'], files: ['x.yar'] },
      // Changed: both files again, in a new directory.
      { gets: 3, packs: ['acme', 'default'], files: ['x.yar'] },
      { gets: 3, packs: [], files: [] },
    ]);
    expect(steps.every((s) => s.errors.length === 0)).toBe(true);
    expect(steps[1]!.root).toBe(steps[0]!.root);
    expect(steps[2]!.root).not.toBe(steps[0]!.root);
    expect(steps[0]!.root.startsWith(mirrors)).toBe(true);
    // Every replaced mirror was removed.
    expect(left).toEqual([]);
  });

  it('trusts a complete listing for refreshSeconds, then lists again; a failed download is retried at once', () => {
    const out = python(
      `
${FAKE_RULE_BUCKET}
now = [1000.0]
s3, mirror, seen = FakeS3(), RulePackMirror(temp_root=sys.argv[1], clock=lambda: now[0]), []
def load(refresh=60):
    dirs, errors = mirror.load(s3, "reports", "rules/", refresh_seconds=refresh)
    seen.append({"lists": s3.lists, "packs": len(dirs), "errors": len(errors)})
s3.objects["rules/a/x.yar"] = (b"rule x { condition: false }", '"1"')
load(); now[0] += 59; load()
s3.objects["rules/b/y.yar"] = (b"rule y { condition: false }", '"2"')
load(); now[0] += 1; load(); load(refresh=0)
s3.broken.add("rules/c/z.yar"); s3.objects["rules/c/z.yar"] = (b"rule z { condition: false }", '"3"')
now[0] += 120; load(); load()
mirror.close()
print(json.dumps(seen))
`,
      [join(dir, 'tmp')],
    );
    expect(JSON.parse(out)).toEqual([
      { lists: 1, packs: 1, errors: 0 },
      // 59 s later: the listing is trusted, the new pack not seen yet.
      { lists: 1, packs: 1, errors: 0 },
      { lists: 1, packs: 1, errors: 0 },
      // A minute after the listing: listed again, the new pack applies.
      { lists: 2, packs: 2, errors: 0 },
      { lists: 3, packs: 2, errors: 0 },
      // A pack that could not be read (left out): the partial mirror is not trusted, the next analysis lists again.
      { lists: 4, packs: 2, errors: 1 },
      { lists: 5, packs: 2, errors: 1 },
    ]);
  });

  it('a worker that reaches the end of its input removes its mirror', async () => {
    const tmp = join(dir, 'tmp-close');
    mkdirSync(tmp);
    const one = new StaticWorkerPool({ root: ROOT, size: 1, env: { ...workerEnv({}), TMPDIR: tmp } });
    await putRule('rules/acme/marker.yar', markerRule(MARKER));
    try {
      const result = await one.invoke(await upload('incoming/notes-2.txt', MARKER));
      expect(result).toMatchObject({ verdict: 'malicious' });
      expect(readdirSync(tmp)).toEqual([expect.stringMatching(/^sandtrap-rules-/)]);
    } finally {
      await one.close();
      await deleteRule('rules/acme/marker.yar');
    }
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('takes rule files within bounds and with sanitised local names only', () => {
    const out = python(`
import json
from sandtrap_static.s3_rule_packs import MAX_RULE_FILE_BYTES, PackErrors, select
keys = ["rules/top.yar", "rules/acme/x.yar", "rules/acme/X.YARA", "rules/we!rd/.x.yar", "rules/we_rd/y.yar",
        "rules/../evil.yar", "rules//abs.yar", "rules/acme/./x.yar", "rules/acme/sub/deep.yar",
        "rules/acme/notes.txt", "rules/big/huge.yar", "rules/acme/x..yar"]
objects = [{"Key": k, "ETag": '"e"', "Size": MAX_RULE_FILE_BYTES + 1 if "huge" in k else 10} for k in keys]
errors = PackErrors()
chosen = select(objects, "rules/", errors)
print(json.dumps({"chosen": [[r.pack, r.file_name] for r in chosen], "errors": len(errors.as_list())}))
`);
    expect(JSON.parse(out)).toEqual({
      chosen: [
        ['default', 'top.yar'],
        ['acme', 'x.yar'],
        ['acme', 'X.yara'],
        ['we_rd', '_x.yar'],
        ['we_rd-2', 'y.yar'],
        ['acme', 'x_.yar'],
      ],
      // .., empty segment, ., too deep, too large; notes.txt is simply not a rule file.
      errors: 5,
    });
  });
});

describe('StaticWorkerPool', () => {
  it('rejects the request of a worker that died with StaticWorkerCrashed; the next request works', async () => {
    const event = await upload('incoming/eicar-4.com', eicar());
    const pending = pool.invoke(event);
    const [pid] = pool.pids;
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await expect(pending).rejects.toMatchObject({ name: 'StaticWorkerCrashed' });
    expect(await pool.invoke(event)).toMatchObject({ status: 'completed', verdict: 'malicious' });
    expect(pool.pids).not.toContain(pid);
  });

  it('kills a worker that overruns the timeout and rejects with StaticWorkerTimeout', async () => {
    // 50 ms is less than a Python start: the first request always overruns.
    const slow = new StaticWorkerPool({ root: ROOT, size: 1, timeoutMs: 50, env: workerEnv({}) });
    try {
      await expect(slow.invoke(sampleEvent('never/x.bin', Buffer.alloc(0)))).rejects.toMatchObject({
        name: 'StaticWorkerTimeout',
      });
    } finally {
      await slow.close();
    }
    await expect(slow.invoke({})).rejects.toMatchObject({ name: 'StaticWorkerPoolClosed' });
  });
});
