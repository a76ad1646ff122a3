import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import * as z from 'zod';
import {
  DETAIL_TYPE_VERDICT_OVERRIDDEN,
  MAX_RELEASED_OBJECTS,
  ReleaseSchema,
  SampleVerdictOverriddenDetailSchema,
  TAG_PREFIX,
  TAG_SCORE,
  TAG_VERDICT,
  type SampleVerdictOverriddenDetail,
} from '../lambdas/core/contracts/pipeline';
import { eventBridgePublisher, type EventPublisher } from '../lambdas/core/runtime/events';
import { openObject, tagWithVerdict, type ObjectRef } from '../lambdas/core/store/objects';
import { type ContentObject, VerdictStore } from '../lambdas/core/store/verdict-store';
import type { DeployedClients } from './clients';
import { awsCall } from './errors';
import { callOn, type DeployedStack } from './stack';
import { Sha256ArgSchema } from './verdicts';

/** Tagging calls in flight at once. */
const TAGGING_CONCURRENCY = 8;

/** What `sandtrap release` names: a content hash, or an object whose bytes are hashed. */
export type ReleaseTarget = { sha256: string } | { object: ObjectRef };

/** `<sha256|s3://bucket/key>` as typed. */
export const ReleaseTargetSchema = z.string().transform((value, ctx): ReleaseTarget => {
  const uri = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(value.trim());
  if (uri) return { object: { bucket: uri[1] as string, key: uri[2] as string } };
  const sha256 = Sha256ArgSchema.safeParse(value);
  if (sha256.success) return { sha256: sha256.data };
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is neither a sha256 nor an s3://bucket/key URI` });
  return z.NEVER;
});

/** Raised when a released object cannot be read to hash it. */
export class ObjectToReleaseNotFoundError extends Error {
  constructor(ref: ObjectRef) {
    super(`s3://${ref.bucket}/${ref.key} does not exist`);
    this.name = 'ObjectToReleaseNotFoundError';
  }
}

/** What a release needs besides the stack's clients; tests give their own. */
export interface ReleaseServices {
  /** The caller's identity: the `by` of the release, from the credentials, not from the command line. */
  whoAmI(): Promise<string>;
  events: EventPublisher;
}

/** The services of a real stack: STS for the identity, the stack's bus for the event. */
export function releaseServices(clients: DeployedClients, stack: DeployedStack): ReleaseServices & { close(): void } {
  const endpoint = process.env.AWS_ENDPOINT_URL_STS ?? process.env.AWS_ENDPOINT_URL;
  const sts = new STSClient({ region: clients.region, ...(endpoint ? { endpoint } : {}) });
  const eventsEndpoint = process.env.AWS_ENDPOINT_URL_EVENTBRIDGE ?? process.env.AWS_ENDPOINT_URL;
  return {
    whoAmI: async () => {
      const identity = await awsCall(callOn(clients, 'sts:GetCallerIdentity', 'the caller'), () =>
        sts.send(new GetCallerIdentityCommand({})),
      );
      if (!identity.Arn) throw new Error('STS returned no identity for the caller');
      return identity.Arn;
    },
    events: eventBridgePublisher(stack.bus, {
      region: clients.region,
      ...(eventsEndpoint ? { endpoint: eventsEndpoint } : {}),
    }),
    close: () => sts.destroy(),
  };
}

async function sha256Of(clients: DeployedClients, ref: ObjectRef): Promise<string> {
  const body: Readable | undefined = await awsCall(
    callOn(clients, 's3:GetObject', `s3://${ref.bucket}/${ref.key}`),
    () => openObject(clients.s3, ref),
  );
  if (!body) throw new ObjectToReleaseNotFoundError(ref);
  const hash = createHash('sha256');
  for await (const chunk of body) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Releases a content hash, as an analyst overriding the verdict: enters it in the allow-list with
 * who (the caller's IAM identity), when and why; turns its stored verdict to benign; re-tags every
 * object the pipeline recorded with these bytes (the quarantined copy where quarantine moved one),
 * so that read-blocking opens them; and publishes `Sample Verdict Overridden`. Later analyses of the
 * bytes end benign with reason `released`. Run it with a role read-blocking exempts: only the
 * pipeline and those roles may change the objects' tags.
 */
export async function releaseContent(
  clients: DeployedClients,
  stack: DeployedStack,
  services: ReleaseServices,
  input: { target: ReleaseTarget; reason: string },
  now: () => number = Date.now,
): Promise<SampleVerdictOverriddenDetail> {
  const sha256 = 'sha256' in input.target ? input.target.sha256 : await sha256Of(clients, input.target.object);
  const release = ReleaseSchema.parse({
    by: await services.whoAmI(),
    at: new Date(now()).toISOString(),
    reason: input.reason,
  });
  const store = new VerdictStore(clients.ddb, stack.table);
  const table = callOn(clients, 'dynamodb:UpdateItem', `table ${stack.table}`);
  const previous = await awsCall(table, () => store.putRelease(sha256, release));
  const score = previous?.score === null || previous?.score === undefined ? 'none' : String(previous.score);
  // Every recorded upload of the bytes, a page at a time: the event lists the first ones and counts the rest.
  const listed: SampleVerdictOverriddenDetail['objects'] = [];
  let more = 0;
  const retag = async (objects: readonly ContentObject[]) => {
    for (let start = 0; start < objects.length; start += TAGGING_CONCURRENCY) {
      const tagged = await Promise.all(
        objects.slice(start, start + TAGGING_CONCURRENCY).map(async (object) => {
          // A quarantined upload is no longer where it was uploaded: its copy is what gets the tags.
          const where = object.quarantinedTo ?? object;
          const tagging = await awsCall(
            callOn(clients, 's3:PutObjectTagging', `s3://${where.bucket}/${where.key}`),
            () =>
              tagWithVerdict(clients.s3, where, TAG_PREFIX, [
                [TAG_VERDICT, 'benign'],
                [TAG_SCORE, score],
              ]),
          );
          return { bucket: where.bucket, key: where.key, versionId: where.versionId ?? null, tagging };
        }),
      );
      for (const object of tagged) {
        if (listed.length < MAX_RELEASED_OBJECTS) listed.push(object);
        else more++;
      }
    }
  };
  const named = 'object' in input.target ? input.target.object : undefined;
  let namedRecorded = false;
  let after: Record<string, unknown> | undefined;
  do {
    const page = await awsCall(callOn(clients, 'dynamodb:Query', `table ${stack.table}`), () =>
      store.contentObjectsPage(sha256, after),
    );
    if (named) namedRecorded ||= page.objects.some((o) => o.bucket === named.bucket && o.key === named.key);
    await retag(page.objects);
    after = page.next;
  } while (after);
  // An object named by URI whose upload has no record (analysed before records, or never): tagged too.
  if (named && !namedRecorded)
    await retag([{ bucket: named.bucket, key: named.key, versionId: named.versionId ?? null }]);
  const detail = SampleVerdictOverriddenDetailSchema.parse({
    sha256,
    verdict: 'benign',
    previousVerdict: previous?.verdict ?? null,
    previousScore: previous?.score ?? null,
    ...release,
    objects: listed,
    moreObjects: more,
  });
  await services.events.publish([{ detailType: DETAIL_TYPE_VERDICT_OVERRIDDEN, detail }]);
  return detail;
}
