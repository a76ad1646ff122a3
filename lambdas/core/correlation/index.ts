/** Static and dynamic findings of one sample, side by side: which static predictions the detonation confirmed. */
export * from './static-dynamic';
