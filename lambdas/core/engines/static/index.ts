/** The static engine's reports, read back for the verdict document and the HTML report (the engine itself is Python: static/). */
export * from './static-reports';
