/** Runs the detonation agent with a task's environment, as the Fargate task would; returns its exit code. */
export interface Detonator {
  readonly kind: 'host' | 'docker';
  run(env: Record<string, string>): Promise<number>;
}
