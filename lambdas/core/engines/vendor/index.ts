/** The vendor engine's jobs: submit, poll with the wait the state machine sleeps, collect the report. */
export * from './polling';
export * from './vendor-jobs';
