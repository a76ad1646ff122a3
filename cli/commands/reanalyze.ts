import * as z from 'zod';
import { startReanalysis, waitForAnalysis } from '../../deployed/analyses';
import { Sha256ArgSchema } from '../../deployed/verdicts';
import { formatVerdicts } from '../format';
import type { CliIo } from '../io';
import { documentOf, failureOf, type AnalysisOutcome } from '../outcome';
import { parseWaiting, StackOptionsSchema, stackCommand } from '../stack-options';
import { escapeTerminal, jsonForTerminal } from '../terminal-escape';

/** Every option of `sandtrap reanalyze` but `--timeout`, which is checked after the sha256. */
export const ReanalyzeOptionsSchema = StackOptionsSchema.extend({
  sha256: Sha256ArgSchema,
  wait: z.boolean().optional(),
  json: z.boolean().optional(),
});

/**
 * `sandtrap reanalyze`: starts a new analysis of the upload a stored verdict came from, bypassing
 * the verdict cache, and prints the execution; with `--wait`, prints the new verdict instead.
 * Exits 2 when an awaited analysis ends without a verdict.
 */
export const reanalyze = stackCommand(
  parseWaiting(ReanalyzeOptionsSchema),
  async (options, { clients, stack }, io: Pick<CliIo, 'stdout' | 'stderr' | 'now' | 'connect'>) => {
    const { sha256 } = options;
    const started = await startReanalysis(clients, stack, sha256);
    const object = { bucket: started.bucket, key: started.key, versionId: started.versionId, sha256 };
    if (!options.wait) {
      io.stdout.write(
        options.json
          ? `${jsonForTerminal({ ...object, executionArn: started.executionArn })}\n`
          : `reanalysis of ${sha256} started: ${escapeTerminal(started.executionArn)}\n`,
      );
      return 0;
    }
    io.stderr.write(`reanalysis started: ${escapeTerminal(started.executionArn)}\n`);
    const end = await waitForAnalysis(
      clients,
      stack,
      { ...object, uploadIds: [started.uploadId], executionArn: started.executionArn, startedAt: started.startedAt },
      { timeoutMs: options.waitSeconds * 1000 },
    );
    const file = `s3://${started.bucket}/${started.key}`;
    const outcome: AnalysisOutcome =
      end.status === 'verdict'
        ? { file, ok: true, document: await documentOf(clients, stack, end) }
        : { file, ok: false, failure: failureOf(end, object, io.now()) };
    io.stdout.write(formatVerdicts([outcome], options.json ?? false));
    return outcome.ok ? 0 : 2;
  },
);
