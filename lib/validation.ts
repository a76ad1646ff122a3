import type { IConstruct } from 'constructs';

/**
 * A configuration or props error at synth, bound to the construct it concerns: the message starts
 * with the construct's path, so that in an app embedding Sandtrap under its own ids the user sees
 * which instance is misconfigured. (aws-cdk-lib's own `ValidationError` is internal to it.)
 */
export class SandtrapValidationError extends Error {
  readonly constructPath: string;

  constructor(scope: IConstruct, message: string) {
    // A construct with id 'Default' stands for its parent (the stack's Sandtrap), as in logical ids.
    const path = scope.node.path.replace(/\/Default(?=\/|$)/g, '');
    super(`${path}: ${message}`);
    this.name = 'SandtrapValidationError';
    this.constructPath = path;
  }
}
