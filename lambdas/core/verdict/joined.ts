import type { HandlerDeps } from '../runtime/deps';
import { DETAIL_TYPE_VERDICT, type SampleVerdictDetail } from '../contracts/pipeline';
import type { JoinedUpload, VerdictRecord } from '../store/verdict-store';
import { deliverVerdict } from './deliver';
import { verdictDetailOf } from './verdict-detail';

/**
 * Joined uploads one analysis serves as it ends, at most: each costs a few requests (tags, record),
 * and Finalize has a minute. Any beyond are released to the sweep, which re-drives them to the
 * cached verdict.
 */
export const MAX_JOINED_SERVED = 100;
/** Joined uploads served at once. */
const SERVED_AT_ONCE = 10;

/**
 * Serves the uploads joined to the analysis of `record`'s content their verdict: each is taken off
 * the list (so that no other path serves it too), tagged and recorded, and gets its `Sample Verdict`
 * event (`cached`, as it ran no engine). If the events cannot be published, the uploads are joined
 * again before the error goes up, so that Finalize's retry serves them. Returns how many were served.
 */
export async function serveJoined(
  deps: HandlerDeps,
  record: VerdictRecord,
  reportUrl: string | undefined,
  now: number,
): Promise<number> {
  const joined = await deps.store.joinedUploads(record.sha256, MAX_JOINED_SERVED + 1);
  const served: { upload: JoinedUpload; detail: SampleVerdictDetail }[] = [];
  for (let start = 0; start < Math.min(joined.length, MAX_JOINED_SERVED); start += SERVED_AT_ONCE) {
    const batch = joined.slice(start, Math.min(start + SERVED_AT_ONCE, MAX_JOINED_SERVED));
    await Promise.all(
      batch.map(async (upload) => {
        if (!(await deps.store.takeJoined(upload.sample))) return;
        const detail = verdictDetailOf(record, upload.sample, true, Math.max(0, now - upload.joinedAt));
        if (reportUrl) detail.reportUrl = reportUrl;
        await deliverVerdict(deps, upload.sample, record, detail, upload.owner, now);
        served.push({ upload, detail });
      }),
    );
  }
  try {
    await deps.events.publish(served.map(({ detail }) => ({ detailType: DETAIL_TYPE_VERDICT, detail })));
  } catch (error) {
    const ttlSeconds = Math.max(60, deps.config.engineDeadlineSeconds);
    await Promise.all(served.map(({ upload }) => deps.store.joinAnalysis(upload, ttlSeconds)));
    throw error;
  }
  if (joined.length > MAX_JOINED_SERVED) await releaseJoined(deps, record.sha256);
  if (served.length > 0) deps.log.info('served joined uploads', { sha256: record.sha256, served: served.length });
  return served.length;
}

/**
 * Releases the uploads joined to an analysis that will not serve them (it failed, or had more than
 * it could serve): each is taken off the list and its claim marked stale, so that the next sweep
 * re-drives it (to the cached verdict, or to an analysis of its own). Returns how many were released.
 */
export async function releaseJoined(deps: HandlerDeps, sha256: string): Promise<number> {
  const joined = await deps.store.joinedUploads(sha256, MAX_JOINED_SERVED);
  let released = 0;
  await Promise.all(
    joined.map(async (upload) => {
      if (!(await deps.store.takeJoined(upload.sample))) return;
      await deps.store.releaseClaim(upload.sample, upload.owner);
      released += 1;
    }),
  );
  if (released > 0) deps.log.warn('released joined uploads to the sweep', { sha256, released });
  return released;
}
