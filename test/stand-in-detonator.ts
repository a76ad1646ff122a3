import { createHash } from 'node:crypto';
import type { Detonator } from '../local/detonation/detonator';
import { dropperDetonation } from './fixtures/reports/detonation';

/**
 * The Fargate task's stand-in: it fetches the sample through the presigned URL and uploads a report
 * echoing the run's nonce through the other, as the agent does. The agent itself is tested on its own
 * (test/detonation); the tests that use this are about what surrounds the task (queues, capacity).
 * A sample containing {@link BREAKS_THE_AGENT} makes it exit 1 without a report, as a sample that
 * crashes the agent would.
 */
export const standInDetonator: Detonator = {
  kind: 'stand-in',
  async run(env) {
    const sample = Buffer.from(await (await fetch(env.SAMPLE_URL ?? '')).arrayBuffer());
    if (sample.includes(BREAKS_THE_AGENT)) return 1;
    const sha256 = createHash('sha256').update(sample).digest('hex');
    const { run_nonce: runNonce } = JSON.parse(env.AGENT_CONFIG ?? '{}') as { run_nonce: string };
    const report = dropperDetonation(sha256, { runNonce });
    const put = await fetch(env.REPORT_URL ?? '', {
      method: 'PUT',
      body: JSON.stringify(report),
      headers: { 'content-type': 'application/json' },
    });
    return put.ok ? 0 : 1;
  },
};

/** The marker that makes {@link standInDetonator} fail the run. */
export const BREAKS_THE_AGENT = 'SANDTRAP-TEST-BREAKS-THE-AGENT';
