/** What the pipeline keeps in DynamoDB and S3: the verdict table, sample objects and the shared rate limiter. */
export * from './objects';
export * from './rate-limiter';
export * from './verdict-store';
