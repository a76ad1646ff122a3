/** The shapes and pure rules every part of Sandtrap agrees on: pipeline records and events, analysis errors, report keys, the clock, verdict bands, the detonation report and the agent's configuration. Nothing here does I/O, so the agent, the Lambdas and the CLI share it. */
export * from './agent-config';
export * from './analysis-errors';
export * from './clock';
export * from './detonation-report';
export * from './events';
export * from './findings';
export * from './pipeline';
export * from './report-keys';
export * from './scoring';
export * from './static-report';
