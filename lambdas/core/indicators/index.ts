/** Indicators of compromise of a verdict, and their STIX 2.1 and CSV exports. */
export * from './csv';
export * from './extract';
export * from './stix';

/** The exports' file suffixes beside an HTML report (`report.html` → `report.iocs.stix.json`, `report.iocs.csv`). */
export const IOC_EXPORT_SUFFIXES = { stix: '.iocs.stix.json', csv: '.iocs.csv' } as const;
