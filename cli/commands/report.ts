import { existsSync, writeFileSync } from 'node:fs';
import * as z from 'zod';
import { reportKeys } from '../../lambdas/core/contracts/report-keys';
import { readReportObject, readVerdictDocument, Sha256ArgSchema } from '../../deployed/verdicts';
import { localConfigFromEnv } from '../config';
import { type CliIo, command } from '../io';
import { analyzeFiles, storedHtmlReport } from '../local-analysis';
import { REPORT_RENDERERS, type ReportFormat } from '../report-format';
import { StackOptionsSchema, withStack } from '../stack-options';

/** `sandtrap report <sha256|file>`: what to report on, and where the report goes. */
export const ReportOptionsSchema = StackOptionsSchema.extend({
  /** A sha256 the deployed stack analysed, or a local file to analyse here; told apart by {@link isLocalFile}. */
  target: z.string(),
  json: z.boolean().optional(),
  html: z.string().optional(),
  pdf: z.string().optional(),
});
export type ReportOptions = z.input<typeof ReportOptionsSchema>;

/** A target that is not 64 hex digits but names an existing file is a local file; anything else a sha256. */
export function isLocalFile(target: string): boolean {
  return !/^[0-9a-fA-F]{64}$/.test(target) && existsSync(target);
}

/**
 * `sandtrap report`: a sample's verdict document, as text or JSON, and with `--html`/`--pdf` its
 * HTML report written out. From the deployed stack's reports bucket for a sha256; for a local file,
 * analysed first by the local pipeline, exactly as `sandtrap analyze` does.
 */
export const report = command(
  (input: ReportOptions) => ReportOptionsSchema.parse(input),
  async (options, io: Pick<CliIo, 'stdout' | 'stderr' | 'env' | 'connect' | 'startPipeline'>) => {
    const { target } = options;
    const format: ReportFormat = options.json ? 'json' : 'text';
    const writeOutputs = async (html: string) => {
      if (options.html) writeFileSync(options.html, html);
      if (options.pdf) await (await import('../pdf')).htmlToPdf(html, options.pdf);
    };
    if (isLocalFile(target)) {
      const pipeline = await io.startPipeline({ config: localConfigFromEnv(io.env), env: io.env });
      try {
        const [outcome] = await analyzeFiles(pipeline, { files: [target], detonator: 'auto' });
        if (!outcome?.ok) throw new Error(`${target}: analysis failed: ${outcome?.failure.reason ?? 'unknown'}`);
        await writeOutputs(await storedHtmlReport(pipeline, outcome.document.sha256));
        io.stdout.write(
          await REPORT_RENDERERS[format]({
            document: outcome.document,
            source: target,
            read: async () => new Uint8Array(),
          }),
        );
      } finally {
        await pipeline.stop();
      }
      return 0;
    }
    const sha256 = Sha256ArgSchema.parse(target);
    return withStack(io.connect, options, async ({ clients, stack }) => {
      const document = await readVerdictDocument(clients, stack, sha256);
      const source = `s3://${stack.reportsBucket}/${reportKeys.verdict(sha256)}`;
      const read = (key: string) => readReportObject(clients, stack, sha256, key);
      if (options.html || options.pdf)
        await writeOutputs(Buffer.from(await read(reportKeys.html(sha256))).toString('utf8'));
      io.stdout.write(await REPORT_RENDERERS[format]({ document, source, read }));
      return 0;
    });
  },
);
