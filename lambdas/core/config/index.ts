/** The runtime configuration the Lambdas read from their environment (vendors, detonation, verdict policy), validated at the boundary. */
export * from './runtime-config';
