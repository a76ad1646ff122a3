/** How a step runs: the injected dependencies (AWS clients, store, clock, log, limiter, connectors), their construction, secrets, and the Lambda wrapper. */
export * from './clients';
export * from './create-deps';
export * from './deps';
export * from './fault-injection';
export * from './lambda';
export * from './secrets';
