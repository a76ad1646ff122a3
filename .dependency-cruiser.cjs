/**
 * Import rules checked by `npm test` (`npm run deps`): no cycles, and no layer importing upwards.
 *
 * Layers of the repository, from the bottom: lambdas/core (the pipeline's logic and contracts) ←
 * lambdas/vendors and lambdas/handlers ← container/agent (the detonation image) ← lib (the CDK app)
 * ← local (the local runtime) ← deployed (the deployed-stack client) ← cli (the commands) ← bin,
 * bench, scripts, test. emulators/ (the vendor emulators) stand on lambdas/core alone.
 *
 * Inside cli, each command is one module of cli/commands/, on top of what the commands share (IO,
 * formatting, the local analysis, stack options): nothing else in cli imports a command, and no
 * command imports another.
 *
 * Inside lambdas/core, concept folders from the bottom: contracts, attack (the ATT&CK catalogue) ←
 * correlation (static and dynamic findings side by side) ← config ← connector ← store ← runtime ←
 * triage, engines/vendor, engines/detonation, engines/static, report ← verdict ← sweep. A folder imports
 * only from folders below it (or from itself), so each can be read knowing only what is beneath.
 */
const upward = (name, from, to, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: to },
});

/** lambdas/core's concept folders, bottom first; entries of one array are one layer. */
const CORE_LAYERS = [
  ['contracts', 'attack'],
  ['correlation'],
  ['config'],
  ['connector'],
  ['store'],
  ['runtime'],
  ['indicators'],
  ['triage', 'engines/vendor', 'engines/detonation', 'engines/static', 'report'],
  ['verdict'],
  ['sweep'],
];
const coreRules = CORE_LAYERS.slice(0, -1).map((layer, i) => {
  const above = CORE_LAYERS.slice(i + 1).flat();
  const self = layer.join('|');
  return upward(
    `core-${layer[0].replace('/', '-')}-not-upward`,
    `^lambdas/core/(${self})/`,
    `^lambdas/core/(${above.join('|')})/`,
    `lambdas/core/${layer.join(', ')} may import only the folders beneath it.`,
  );
});
const peers = CORE_LAYERS.find((layer) => layer.includes('triage'));
const peerRules = peers.map((folder) =>
  upward(
    `core-${folder.replace('/', '-')}-not-sideways`,
    `^lambdas/core/${folder}/`,
    `^lambdas/core/(${peers.filter((p) => p !== folder).join('|')})/`,
    `lambdas/core/${folder} is independent of the other ${peers.length - 1} folders of its layer.`,
  ),
);

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes both modules one concept in two files: cut it at the shared piece.',
      from: {},
      to: { circular: true },
    },
    ...coreRules,
    ...peerRules,
    upward(
      'core-not-upward',
      '^lambdas/core/',
      '^(lambdas/(handlers|vendors)|container|lib|local|deployed|cli|emulators|bin|bench|scripts|test)/',
      'lambdas/core is the bottom layer.',
    ),
    upward(
      'vendors-not-upward',
      '^lambdas/vendors/',
      '^(lambdas/handlers|container|lib|local|deployed|cli|emulators|bin|bench|scripts|test)/',
      'Connectors depend on core only.',
    ),
    upward(
      'handlers-not-upward',
      '^lambdas/handlers/',
      '^(container|lib|local|deployed|cli|emulators|bin|bench|scripts|test)/',
      'Handlers are bundled into Lambda: nothing from the CDK app, the CLI or the tests.',
    ),
    upward(
      'agent-not-upward',
      '^container/',
      '^(lambdas/(handlers|vendors)|lambdas/core/(config|connector|store|runtime|engines|report|verdict|sweep)/|lib|local|deployed|cli|emulators|bin|bench|scripts|test)/',
      'The detonation image carries the agent, the contracts and file-type detection only.',
    ),
    upward(
      'lib-not-upward',
      '^lib/',
      '^(local|deployed|cli|emulators|bin|bench|scripts|test)/',
      'The CDK app does not depend on the local runtime, the CLI or the tests.',
    ),
    upward(
      'local-not-upward',
      '^local/',
      '^(deployed|cli|emulators|bin|bench|scripts|test)/',
      'The local runtime does not depend on the CLI, the emulators, the tests or benchmarks.',
    ),
    upward(
      'deployed-not-upward',
      '^deployed/',
      '^(local|cli|emulators|bin|bench|scripts|test)/',
      'The deployed-stack client talks to AWS only: not the local runtime, nor the CLI above it.',
    ),
    upward(
      'cli-not-upward',
      '^cli/',
      '^(emulators|bin|bench|scripts|test)/',
      'The commands do not depend on the entry point, the emulators, the tests or benchmarks.',
    ),
    upward(
      'cli-shared-below-commands',
      '^cli/(?!commands/)',
      '^cli/commands/',
      'What the commands share does not depend on any one command.',
    ),
    {
      name: 'cli-commands-independent',
      comment: 'Each command is one module: what two commands share lives beside them in cli/, not in either.',
      severity: 'error',
      from: { path: '^cli/commands/([^/]+)\\.ts$' },
      to: { path: '^cli/commands/', pathNot: '^cli/commands/$1\\.ts$' },
    },
    upward(
      'emulators-on-core-only',
      '^emulators/',
      '^(lambdas/(handlers|vendors)|container|lib|local|deployed|cli|bin|bench|scripts|test)/',
      'The vendor emulators speak the wire formats on their own: they use the contracts, not the connectors.',
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|cdk\\.out)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
