/** The first step: hashes and file type of the object, the engines it is routed to, and the dedupe against cached and in-flight analyses. */
export * from './dedupe';
export * from './file-type';
export * from './hashing';
export * from './routing';
