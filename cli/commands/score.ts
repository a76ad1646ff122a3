import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { systemClock } from '../../lambdas/core/contracts/clock';
import { parseSettings, type VendorConfig } from '../../lambdas/core/config/runtime-config';
import type { NormalisedScore } from '../../lambdas/core/connector/connector';
import type { VendorFindings } from '../../lambdas/core/contracts/findings';
import { VendorIdSchema, type VendorId } from '../../lambdas/core/contracts/pipeline';
import { CONNECTORS } from '../../lambdas/vendors/registry';
import { type CliIo, command } from '../io';
import { escapeTerminal, jsonForTerminal } from '../terminal-escape';

/** `sandtrap score <vendor> <report-file>`: the vendor's id and the native report, checked when scored. */
export const ScoreOptionsSchema = z.object({
  vendor: z.string(),
  file: z.string(),
  json: z.boolean().optional(),
});
export type ScoreOptions = z.input<typeof ScoreOptionsSchema>;

/**
 * `sandtrap score`: re-scores a stored native vendor report with that vendor's normalisation and
 * prints verdict, score and the native value.
 */
export const score = command(
  (input: ScoreOptions) => ScoreOptionsSchema.parse(input),
  async (options, io: Pick<CliIo, 'stdout' | 'stderr'>) => {
    const scored = scoreReport(options.vendor, options.file);
    if (options.json) io.stdout.write(`${jsonForTerminal(scored)}\n`);
    else {
      io.stdout.write(
        `${escapeTerminal(`${scored.vendor}: ${scored.verdict} ${scored.score ?? '-'} (native ${JSON.stringify(scored.native.value)} on ${scored.native.scale})`)}\n`,
      );
      for (const line of findingLines(scored.findings)) io.stdout.write(`${escapeTerminal(line)}\n`);
    }
    return 0;
  },
);

/** Re-scores a stored native report (JSON, or XML text for WildFire/FireEye) with a vendor's connector. */
export function scoreReport(
  vendor: string,
  file: string,
): NormalisedScore & { vendor: VendorId; findings?: VendorFindings } {
  const id = VendorIdSchema.parse(vendor);
  const info = CONNECTORS[id];
  if (!info) throw new Error(`no connector shipped for vendor '${id}'`);
  const text = readFileSync(file, 'utf8');
  let report: unknown = text;
  if (/^\s*[{[]/.test(text)) {
    try {
      report = JSON.parse(text);
    } catch (error) {
      throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
    }
  }
  // Scoring is pure: the connector needs no endpoint or credential for it.
  const connector = info.create({
    config: parseSettings({ vendors: [{ id, baseUrl: 'http://127.0.0.1/' }] }).vendors[0] as VendorConfig,
    credentials: undefined,
    clock: systemClock,
  });
  // No item id: a stored report's page cannot be named without it, so no link is printed.
  const findings = connector.findings?.(report, '');
  return { vendor: id, ...connector.score(report), ...(findings ? { findings } : {}) };
}

/** The findings as `sandtrap score` prints them under the score, one kind per line; nothing when there are none. */
export function findingLines(findings: VendorFindings | undefined): string[] {
  if (!findings) return [];
  return [
    ...(findings.families.length ? [`  families: ${findings.families.join(', ')}`] : []),
    ...findings.signatures.map(
      (s) => `  signature [${s.severity}] ${s.name}${s.description ? ` (${s.description})` : ''}`,
    ),
    ...(findings.attack.length ? [`  att&ck: ${findings.attack.join(', ')}`] : []),
    ...(findings.hosts.length ? [`  hosts: ${findings.hosts.join(', ')}`] : []),
  ];
}
