#!/usr/bin/env node
// Entry point of the `sandtrap` command: registers the TypeScript loader, then runs the CLI.
import { register } from 'tsx/esm/api';

// The AWS SDK warns about Node 20 on every start; it says nothing a CLI user can act on.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  const text = typeof warning === 'string' ? warning : (warning?.message ?? '');
  if (
    text.includes('NodeVersionSupportWarning') ||
    rest.some((r) => r === 'NodeVersionSupportWarning' || r?.type === 'NodeVersionSupportWarning')
  )
    return;
  emitWarning(warning, ...rest);
};

register();
const { main } = await import('./sandtrap.ts');
const code = await main(process.argv);
// Exit now rather than when the event loop drains: a detonation cut short by --timeout or Ctrl-C
// cannot be aborted from here and runs to its own deadline (its container removes itself), which
// would otherwise hold the prompt for up to a minute after the answer was printed.
process.exit(code);
