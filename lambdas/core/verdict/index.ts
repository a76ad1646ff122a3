/** The last steps: combine engine results into the verdict, store reports, tag and act on the object, publish the events; and the failure path. */
export * from './deliver';
export * from './failures';
export * from './finalize';
export * from './joined';
export * from './verdict-detail';
