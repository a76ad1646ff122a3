/** The detonation engine's runs: prepare the task's configuration and presigned URLs, collect and check its report. */
export * from './detonation-runs';
