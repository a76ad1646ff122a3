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
  detonationPcap: (reportKey: string) => reportKey.replace(/\.json$/, '') + '.pcap',
};
