/**
 * Import rules checked by `npm test` (`npm run deps`): no cycles, and no layer importing upwards.
 * Layers, from the bottom: lambdas/core (the pipeline's logic and contracts) ← lambdas/vendors and
 * lambdas/handlers ← container/agent (the detonation image) ← lib (the CDK app) ← local (the local
 * runtime and CLI) ← bin, bench, scripts, test.
 */
const upward = (name, from, to, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: to },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes both modules one concept in two files: cut it at the shared piece.',
      from: {},
      to: { circular: true },
    },
    upward(
      'core-not-upward',
      '^lambdas/core/',
      '^(lambdas/(handlers|vendors)|container|lib|local|bin|bench|scripts|test)/',
      'lambdas/core is the bottom layer.',
    ),
    upward(
      'vendors-not-upward',
      '^lambdas/vendors/',
      '^(lambdas/handlers|container|lib|local|bin|bench|scripts|test)/',
      'Connectors depend on core only.',
    ),
    upward(
      'handlers-not-upward',
      '^lambdas/handlers/',
      '^(container|lib|local|bin|bench|scripts|test)/',
      'Handlers are bundled into Lambda: nothing from the CDK app, the CLI or the tests.',
    ),
    upward(
      'agent-not-upward',
      '^container/',
      '^(lambdas/(handlers|vendors)|lib|local|bin|bench|scripts|test)/',
      'The detonation image carries the agent and lambdas/core only.',
    ),
    upward(
      'lib-not-upward',
      '^lib/',
      '^(local|bin|bench|scripts|test)/',
      'The CDK app does not depend on the CLI or the tests.',
    ),
    upward(
      'local-not-upward',
      '^local/',
      '^(bin|bench|scripts|test)/',
      'The local runtime and CLI do not depend on the tests or benchmarks.',
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
