/** What the pipeline keeps in DynamoDB and S3: the verdict table, sample objects and the reserved slots of the vendors' shared rates. */
export * from './objects';
export * from './slot-reservations';
export * from './verdict-store';
