/** Layout of the reports bucket: a contract with `sandtrap report` and consumers. */
export const reportKeys = {
  verdict: (sha256: string) => `reports/${sha256}/verdict.json`,
  engine: (sha256: string, engine: string, itemId: string, extension: string) =>
    `reports/${sha256}/${engine}/${itemId.replace(/[^A-Za-z0-9._-]/g, '_')}.${extension}.gz`,
  html: (sha256: string) => `reports/${sha256}/report.html`,
  /** The report's indicators as a STIX 2.1 bundle and as CSV, beside it (named as `sandtrap report --html` names them). */
  iocsStix: (sha256: string) => `reports/${sha256}/report.iocs.stix.json`,
  iocsCsv: (sha256: string) => `reports/${sha256}/report.iocs.csv`,
  /** The detonation agent PUTs its JSON report here through a presigned URL (not compressed). */
  detonation: (sha256: string, runId: string) =>
    `reports/${sha256}/detonation/${runId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`,
  /** The packet capture the agent PUTs beside its report: the report's key with `.pcap` for `.json`. */
  detonationPcap: (reportKey: string) => `${reportKey.replace(/\.json$/, '')}.pcap`,
};

/**
 * A stored key's path relative to the HTML report's folder (`reports/<sha256>/`), for a link from
 * the report to a file beside it; null for a key elsewhere or one that could climb out of the folder.
 */
export function besideReport(key: string, sha256: string): string | null {
  const folder = `reports/${sha256}/`;
  if (!key.startsWith(folder)) return null;
  const relative = key.slice(folder.length);
  return /^[A-Za-z0-9_-][A-Za-z0-9._/-]*$/.test(relative) && !relative.split('/').some((p) => p === '..' || p === '')
    ? relative
    : null;
}
