/** Name of the sink stack `test/e2e/sink-app.ts` defines. */
export const SINK_STACK = 'SandtrapE2eSink';

/** Output names of the sink stack: the harness reads the queue from them. */
export const SINK_OUTPUTS = { queueUrl: 'QueueUrl', queueArn: 'QueueArn' } as const;
