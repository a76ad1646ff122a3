import { existsSync, writeFileSync } from 'node:fs';
import * as z from 'zod';
import { DetonationReportSchema, type DetonationReport } from '../../lambdas/core/contracts/detonation-report';
import type { VerdictDocument } from '../../lambdas/core/contracts/pipeline';
import { reportKeys } from '../../lambdas/core/contracts/report-keys';
import { detonationReportOf } from '../../lambdas/core/engines/detonation/detonation-runs';
import { IOC_EXPORT_SUFFIXES } from '../../lambdas/core/indicators';
import { readReportObject, readVerdictDocument, Sha256ArgSchema } from '../../deployed/verdicts';
import { localConfigFromEnv } from '../config';
import { type CliIo, command } from '../io';
import { analyzeFiles, storedHtmlReport } from '../local-analysis';
import { IOC_FORMATS, REPORT_RENDERERS, type ReportFormat, type ReportInput } from '../report-format';
import { StackOptionsSchema, withStack } from '../stack-options';

/** `sandtrap report <sha256|file>`: what to report on, and where the report goes. */
export const ReportOptionsSchema = StackOptionsSchema.extend({
  /** A sha256 the deployed stack analysed, or a local file to analyse here; told apart by {@link isLocalFile}. */
  target: z.string(),
  json: z.boolean().optional(),
  html: z.string().optional(),
  pdf: z.string().optional(),
  /** Print the indicators of compromise as a STIX 2.1 bundle or CSV instead of the document. */
  iocs: z.enum(IOC_FORMATS).optional(),
});
export type ReportOptions = z.input<typeof ReportOptionsSchema>;

/** A target that is not 64 hex digits but names an existing file is a local file; anything else a sha256. */
export function isLocalFile(target: string): boolean {
  return !/^[0-9a-fA-F]{64}$/.test(target) && existsSync(target);
}

/** Where the indicator exports go beside an HTML report: `r.html` → `r.iocs.stix.json`, `r.iocs.csv`. */
export function iocExportPaths(htmlPath: string): { stix: string; csv: string } {
  const base = htmlPath.replace(/\.html?$/i, '');
  return { stix: `${base}${IOC_EXPORT_SUFFIXES.stix}`, csv: `${base}${IOC_EXPORT_SUFFIXES.csv}` };
}

/**
 * The detonation report of a deployed stack's verdict, read from the reports bucket; undefined when
 * the detonation did not run or its report is missing or unreadable: the indicators then come from
 * the verdict document alone, which is still worth printing.
 */
async function storedDetonation(
  document: VerdictDocument,
  read: (key: string) => Promise<Uint8Array>,
): Promise<DetonationReport | undefined> {
  const key = document.engineResults.find((e) => e.engine === 'detonation' && e.reportKey)?.reportKey;
  if (!key) return undefined;
  try {
    const parsed = DetonationReportSchema.safeParse(JSON.parse(Buffer.from(await read(key)).toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `sandtrap report`: a sample's verdict document, as text or JSON, or with `--iocs stix|csv` its
 * indicators of compromise; with `--html`/`--pdf` its HTML report written out, the STIX bundle and
 * the CSV of indicators beside the HTML. From the deployed stack's reports bucket for a sha256; for
 * a local file, analysed first by the local pipeline, exactly as `sandtrap analyze` does.
 */
export const report = command(
  (input: ReportOptions) => ReportOptionsSchema.parse(input),
  async (options, io: Pick<CliIo, 'stdout' | 'stderr' | 'env' | 'connect' | 'startPipeline'>) => {
    const { target } = options;
    const format: ReportFormat = options.iocs ?? (options.json ? 'json' : 'text');
    const writeOutputs = async (html: string, input: ReportInput) => {
      if (options.html) {
        writeFileSync(options.html, html);
        const paths = iocExportPaths(options.html);
        writeFileSync(paths.stix, await REPORT_RENDERERS.stix(input));
        writeFileSync(paths.csv, await REPORT_RENDERERS.csv(input));
      }
      if (options.pdf) await (await import('../pdf')).htmlToPdf(html, options.pdf);
    };
    if (isLocalFile(target)) {
      const pipeline = await io.startPipeline({ config: localConfigFromEnv(io.env), env: io.env });
      try {
        const [outcome] = await analyzeFiles(pipeline, { files: [target], detonator: 'auto' });
        if (!outcome?.ok) throw new Error(`${target}: analysis failed: ${outcome?.failure.reason ?? 'unknown'}`);
        const { document } = outcome;
        const needsDetonation = options.iocs !== undefined || options.html !== undefined;
        const detonation = needsDetonation
          ? await detonationReportOf(pipeline.deps('FinalizeFn'), document.engineResults)
          : undefined;
        const input: ReportInput = {
          document,
          source: target,
          read: async () => new Uint8Array(),
          ...(detonation ? { detonation } : {}),
        };
        await writeOutputs(await storedHtmlReport(pipeline, document.sha256), input);
        io.stdout.write(await REPORT_RENDERERS[format](input));
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
      const detonation = options.iocs || options.html ? await storedDetonation(document, read) : undefined;
      const input: ReportInput = { document, source, read, ...(detonation ? { detonation } : {}) };
      if (options.html || options.pdf)
        await writeOutputs(Buffer.from(await read(reportKeys.html(sha256))).toString('utf8'), input);
      io.stdout.write(await REPORT_RENDERERS[format](input));
      return 0;
    });
  },
);
