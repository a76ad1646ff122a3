/**
 * The connector contract: what the pipeline's vendor engine asks of every vendor sandbox connector,
 * the typed errors connectors raise, the context they are built with and the request gate they pass.
 * Connectors (lambdas/vendors) implement it; lambdas/core depends on nothing above it.
 */
export * from './connector';
export * from './context';
export * from './errors';
export * from './request-gates';
