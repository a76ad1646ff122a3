#!/usr/bin/env node
// Entry point of the `sandtrap` command. In a checkout it runs the TypeScript sources through tsx
// (a devDependency), so a change needs no build; an installed package runs the JavaScript that
// `npm run build` bundled into dist/ (no TypeScript loader, nothing compiled or cached at run time).
// A checkout is told by its tsconfig.json, which the package does not ship.
import { existsSync } from 'node:fs';

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

const checkout = existsSync(new URL('../tsconfig.json', import.meta.url));
let main;
if (checkout) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('./sandtrap.ts'));
} else {
  ({ main } = await import('../dist/cli.js'));
}
const code = await main(process.argv);
// Exit now rather than when the event loop drains: a detonation cut short by --timeout or Ctrl-C
// cannot be aborted from here and runs to its own deadline (its container removes itself), which
// would otherwise hold the prompt for up to a minute after the answer was printed.
process.exit(code);
