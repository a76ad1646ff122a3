/** The scheduled re-drive sweep: finds uploads that have no analysis and starts one for each. */
export * from './execution-starter';
export * from './sweep-config';
export * from './inventory';
export * from './sweep';
