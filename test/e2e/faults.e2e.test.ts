import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DETAIL_TYPE_FAILED, DETAIL_TYPE_VERDICT } from '../../lambdas/core/contracts/pipeline';
import { waitForAnalysis, type AnalysisEnd } from '../../deployed/analyses';
import { createDeployedClients, destroyDeployedClients, type DeployedClients } from '../../deployed/clients';
import { uploadFile, type Submission } from '../../deployed/submit';
import { uploadTarget } from '../../cli/outcome';
import { createE2eClients, destroyE2eClients, type E2eClients } from './harness/aws';
import type { E2eContext } from './harness/context';
import { EventInbox } from './harness/sqs';

const provided = inject('e2e') as E2eContext | undefined;
const ctx = provided ?? ({} as E2eContext);

/** Faults switched on, one after another, while the uploads are in flight: (vendor, fault, requests it lasts). */
const FAULTS: ['cape' | 'vmray', string, number][] = [
  ['cape', 'server-error', 2],
  ['vmray', 'rate-limited', 2],
  ['cape', 'malformed', 1],
  ['vmray', 'truncated', 1],
  // VMRay has a quota; CAPE has none (its emulator refuses the fault).
  ['vmray', 'quota', 1],
  ['cape', 'bad-key', 1],
  ['cape', 'failed-analysis', 1],
  ['vmray', 'unsupported', 1],
  ['cape', 'oversize', 1],
  ['vmray', 'server-error', 3],
];

/** Steps whose function throws, or whose DynamoDB calls throttle, for one upload each; and how that upload ends. */
const INJECTED: [string, 'verdict' | 'failed'][] = [
  ['crash-Triage', 'failed'],
  ['throttle-Triage', 'failed'],
  ['crash-VendorSubmit', 'verdict'],
  ['crash-VendorPoll', 'verdict'],
  ['crash-VendorCollect', 'verdict'],
  ['throttle-VendorSubmit', 'verdict'],
  ['crash-Finalize', 'failed'],
  ['throttle-Finalize', 'failed'],
];

async function setFault(vendor: 'cape' | 'vmray', fault: string, count?: number): Promise<void> {
  const response = await fetch(`${ctx.controlUrl}/${vendor}/fault`, {
    method: 'PUT',
    body: JSON.stringify({ fault, ...(count ? { count } : {}) }),
  });
  if (!response.ok) throw new Error(`setting ${vendor} fault ${fault}: ${response.status} ${await response.text()}`);
}

describe.skipIf(!provided)(
  'faults on a deployed stack (MiniStack): every upload ends with exactly one terminal record and one event',
  () => {
    let deployed: DeployedClients;
    let clients: E2eClients;
    let inbox: EventInbox;

    beforeAll(async () => {
      // The SDK's credential chain reads this process's environment, as the CLI's does.
      Object.assign(process.env, ctx.env);
      deployed = await createDeployedClients({}, process.env);
      clients = createE2eClients(ctx.endpoint);
      inbox = new EventInbox(clients.sqs, ctx.queueUrl);
    });

    afterAll(async () => {
      await Promise.all([setFault('cape', 'none'), setFault('vmray', 'none')]);
      destroyDeployedClients(deployed);
      destroyE2eClients(clients);
    });

    it('uploads under vendor faults, functions throwing mid-analysis, DynamoDB throttling, and one object deleted right after its upload', async () => {
      const stack = ctx.stack;
      const dir = mkdtempSync(join(tmpdir(), 'sandtrap-e2e-faults-'));
      const run = randomUUID().slice(0, 8);
      const uploads: Submission[] = [];
      try {
        for (const [index, [vendor, fault, count]] of FAULTS.entries()) {
          await setFault(vendor, fault, count);
          const file = join(dir, `fault-${index}-${fault}.txt`);
          writeFileSync(
            file,
            `${index % 3 === 0 ? 'SANDTRAP-TEST-MALICIOUS ' : ''}fault run ${run}, upload ${index} under ${vendor} ${fault}\n`,
          );
          uploads.push(await uploadFile(deployed, stack.ingestBucket, file, `e2e/faults/${run}/${index}-${fault}.txt`));
        }
        // Functions that throw mid-analysis and DynamoDB that throttles, each for one upload (the stack's
        // fault injection reads the step from the key; see lambdas/core/runtime/fault-injection.ts).
        for (const [fault] of INJECTED) {
          const file = join(dir, `${fault}.txt`);
          writeFileSync(file, `injected ${fault}, run ${run}\n`);
          uploads.push(await uploadFile(deployed, stack.ingestBucket, file, `e2e/faults/${run}/${fault}/sample.txt`));
        }
        // An object deleted while its analysis starts: the analysis fails or ends with a verdict, once.
        const doomedFile = join(dir, 'deleted.txt');
        writeFileSync(doomedFile, `deleted mid-analysis, run ${run}\n`);
        const doomed = await uploadFile(deployed, stack.ingestBucket, doomedFile, `e2e/faults/${run}/deleted.txt`);
        await clients.s3.send(
          new DeleteObjectCommand({
            Bucket: doomed.bucket,
            Key: doomed.key,
            ...(doomed.versionId ? { VersionId: doomed.versionId } : {}),
          }),
        );
        uploads.push(doomed);

        const ends: AnalysisEnd[] = await Promise.all(
          uploads.map((u) => waitForAnalysis(deployed, stack, uploadTarget(u), { timeoutMs: 150_000 })),
        );
        const story = ends
          .map((end, i) => `${uploads[i]?.key}: ${end.status}${end.status === 'failed' ? ` (${end.reason})` : ''}`)
          .join('\n');
        for (const end of ends) expect(['verdict', 'failed'], story).toContain(end.status);
        // Vendor faults end an engine, not the analysis: at most one of them can meet the deleted object's fate.
        expect(ends.slice(0, FAULTS.length).filter((e) => e.status === 'verdict').length, story).toBeGreaterThanOrEqual(
          FAULTS.length - 1,
        );
        // A crash or throttle in a vendor step ends that engine; in Triage or Finalize, the analysis (with a failure record).
        expect(
          ends.slice(FAULTS.length, FAULTS.length + INJECTED.length).map((e) => e.status),
          story,
        ).toEqual(INJECTED.map(([, status]) => status));
      } finally {
        await Promise.all([setFault('cape', 'none'), setFault('vmray', 'none')]);
      }

      // One event per upload, verdict or failure, and never two.
      const keys = new Set(uploads.map((u) => u.key));
      const ofUploads = () =>
        inbox
          .all()
          .filter(
            (e) =>
              [DETAIL_TYPE_VERDICT, DETAIL_TYPE_FAILED].includes(e['detail-type']) && keys.has(String(e.detail.key)),
          );
      await inbox.waitFor((e) => keys.has(String(e.detail.key)), {
        timeoutMs: 30_000,
        count: uploads.length,
        what: `${uploads.length} events of the fault run`,
      });
      await inbox.drain(3_000);
      const perKey = new Map<string, string[]>();
      for (const event of ofUploads())
        perKey.set(String(event.detail.key), [...(perKey.get(String(event.detail.key)) ?? []), event['detail-type']]);
      expect([...keys].map((key) => [key, perKey.get(key)?.length ?? 0])).toEqual([...keys].map((key) => [key, 1]));
    }, 240_000);
  },
);
