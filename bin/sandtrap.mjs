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
process.exitCode = await main(process.argv);
