import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';

/** What starting a named execution did. */
export type StartOutcome = 'started' | 'exists';

/**
 * Starts analysis executions by name, so that starting the same name twice starts one execution:
 * Step Functions when deployed, the local runtime's engine locally.
 */
export interface ExecutionStarter {
  /** Starts an execution of the analysis state machine with this input; `exists` when the name was used before. */
  startExecution(name: string, input: unknown): Promise<StartOutcome>;
}

/**
 * Step Functions' StartExecution. A name already used answers `ExecutionAlreadyExists` (the execution
 * ended, or runs with another input), which is the outcome `exists`; a running execution of the same
 * name and input answers as if started, which Step Functions documents as idempotent.
 */
export class StepFunctionsStarter implements ExecutionStarter {
  constructor(
    private readonly stateMachineArn: string,
    private readonly sfn: SFNClient = new SFNClient({}),
  ) {}

  async startExecution(name: string, input: unknown): Promise<StartOutcome> {
    try {
      await this.sfn.send(
        new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(input) }),
      );
      return 'started';
    } catch (error) {
      if ((error as { name?: string }).name === 'ExecutionAlreadyExists') return 'exists';
      throw error;
    }
  }
}
