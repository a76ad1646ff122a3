import type { DetectionScore, SampleScore } from './detection-score';

/**
 * The detection benchmark's per-sample table (markdown, written to stderr): for each sample what
 * its manifest expects, every ATT&CK id raised, the verdict (with the band it missed and why the
 * run was incomplete), the expected keys and ids that were not raised and the counted ids that
 * were not expected. It is the list to work through when a detection metric misses its target.
 */

const list = (xs: readonly string[]) => (xs.length ? xs.join(' ') : '-');
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ');

function verdictCell(s: SampleScore): string {
  const band = s.verdictInBand ? '' : ` (want ${s.expectedVerdict})`;
  const incomplete = s.incomplete ? ` [incomplete${s.error ? `: ${s.error}` : ''}]` : '';
  return cell(`${s.verdict}${band}${incomplete}`);
}

/** The table of every sample of a score, in the manifest's order. */
export function sampleTable(score: DetectionScore): string {
  const rows = score.samples.map((s) => {
    const expected = [...s.expectedKeys.map((k) => `key:${k}`), ...s.expectedTechniques];
    const missing = [...s.missingKeys.map((k) => `key:${k}`), ...s.missingTechniques];
    return `| ${s.file} | ${list(expected)} | ${list(s.raised)} | ${verdictCell(s)} | ${list(missing)} | ${list(s.unexpected)} |`;
  });
  return [
    '| sample | expected | raised | verdict | missing | unexpected |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
