/** Runs the detonation agent with a task's environment, as the Fargate task would; returns its exit code. */
export interface Detonator {
  /** Which detonator: a real one (the host's namespaces, Docker), or a stand-in a test gives. */
  readonly kind: 'host' | 'docker' | 'stand-in';
  run(env: Record<string, string>): Promise<number>;
}
