import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RATE_LIMITED_ERROR, RETRYABLE_VENDOR_ERRORS } from '../../lambdas/core/connector/errors';
import { DUPLICATE_EVENT_ERROR, failureReasonOf } from '../../lambdas/core/contracts/analysis-errors';
import { TRANSIENT_AWS_ERRORS } from '../../lambdas/core/runtime/clients';
import { handlerBuildOptions } from '../../lib/functions';
import {
  ECS_CAPACITY_ERRORS,
  ECS_SERVICE_ERRORS,
  LAMBDA_SERVICE_ERRORS,
  STATIC_TRANSIENT_ERROR,
} from '../../lib/workflow';
import { allStates } from '../../local/definition';
import { localPlan } from '../../local/synth';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The modules whose errors a Lambda handler can throw out to the state machine. */
const ERROR_MODULES = [
  'lambdas/core/connector/errors.ts',
  'lambdas/core/contracts/analysis-errors.ts',
  'lambdas/core/config/runtime-config.ts',
  'lambdas/core/runtime/events.ts',
  'lambdas/core/runtime/fault-injection.ts',
  'lambdas/core/store/task-slots.ts',
  'lambdas/vendors/vmray/client.ts',
  'lambdas/vendors/fireeye/client.ts',
];

type ErrorClass = new (...args: never[]) => Error;

/** Every exported Error subclass of the modules, as the handlers' production bundling leaves them. */
let bundled: Map<string, ErrorClass>;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sandtrap-error-names-'));
  const entry = join(dir, 'entry.ts');
  writeFileSync(
    entry,
    ERROR_MODULES.map((module, i) => `export * as m${i} from ${JSON.stringify(join(ROOT, module))};`).join('\n'),
  );
  await build({
    entryPoints: [entry],
    outfile: join(dir, 'errors.mjs'),
    ...handlerBuildOptions(),
    absWorkingDir: ROOT,
    logLevel: 'silent',
  });
  const modules = (await import(join(dir, 'errors.mjs'))) as Record<string, Record<string, unknown>>;
  bundled = new Map();
  for (const exports of Object.values(modules)) {
    for (const [name, value] of Object.entries(exports)) {
      if (typeof value === 'function' && value.prototype instanceof Error) bundled.set(name, value as ErrorClass);
    }
  }
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Constructs an error with arguments of the shapes the constructors take (vendor id or strings, numbers). */
function instance(Class: ErrorClass, args: unknown[]): Error {
  return new (Class as unknown as new (...a: unknown[]) => Error)(...args);
}

describe('error names under the production bundling', () => {
  it('finds the error classes in the bundle', () => {
    for (const name of ['VendorError', 'TransientError', 'RateLimitedError', 'DuplicateEventError', 'ConfigError'])
      expect(bundled.has(name), name).toBe(true);
  });

  it('keeps every exported error class named as in the source, minified or not', () => {
    for (const [exported, Class] of bundled) expect(Class.name, exported).toBe(exported);
  });

  it.each([
    ['TransientError', ['cape', 'connection reset']],
    ['BadResponseError', ['joe', 'not the documented shape']],
    ['RateLimitedError', ['triage', 'slow down', 30]],
    ['QuotaExceededError', ['vmray', 'daily quota']],
    ['AuthError', ['falcon', 'key refused']],
    ['ForbiddenError', ['insufficient rights']],
    ['TokenRefused', ['fireeye', 'token refused']],
    ['InvalidEventError', ['not an event']],
    ['ObjectNotFoundError', ['bucket', 'key']],
    ['ObjectTooLargeError', ['bucket', 'key', 10, 5]],
    ['DuplicateEventError', ['bucket', 'key', 'upload', 'in flight']],
    ['InjectedFault', ['VendorPollFn', 'key']],
  ])('a thrown %s reports its class name, the type Lambda hands to Retry and Catch', (name, args) => {
    const Class = bundled.get(name);
    expect(Class, name).toBeDefined();
    expect(instance(Class as ErrorClass, args).name).toBe(name);
  });

  it('carries the failure reason as a field, separate from the name', () => {
    const error = instance(bundled.get('ObjectNotFoundError') as ErrorClass, ['b', 'k']) as Error & { reason: string };
    expect(error.name).toBe('ObjectNotFoundError');
    expect(error.reason).toBe('ObjectNotFound');
  });
});

describe('the names Retry and Catch match', () => {
  const definition = localPlan({}).definition as Parameters<typeof allStates>[0];
  const matched = [...allStates(definition).values()].flatMap((state) =>
    [
      ...((state.Retry ?? []) as { ErrorEquals: string[] }[]),
      ...((state.Catch ?? []) as { ErrorEquals: string[] }[]),
    ].flatMap((r) => r.ErrorEquals),
  );

  it('are Step Functions names, the exported service and SDK lists, or the names of our own error classes', () => {
    // The static engine is Python: the error classes its handler raises are read from its source.
    const python = readFileSync(join(import.meta.dirname, '../../static/sandtrap_static/lambda_function.py'), 'utf8');
    const pythonErrors = [...python.matchAll(/^class (\w+)\(Exception\):/gm)].map((m) => m[1] as string);
    expect(pythonErrors).toContain(STATIC_TRANSIENT_ERROR);
    const known = new Set<string>([
      ...LAMBDA_SERVICE_ERRORS,
      ...ECS_SERVICE_ERRORS,
      ...ECS_CAPACITY_ERRORS,
      ...TRANSIENT_AWS_ERRORS,
      ...pythonErrors,
      ...bundled.keys(),
    ]);
    const unknown = matched.filter((name) => !name.startsWith('States.') && !known.has(name));
    expect(unknown).toEqual([]);
  });

  it('include the exported constants the workflow is built from', () => {
    for (const name of [...RETRYABLE_VENDOR_ERRORS, RATE_LIMITED_ERROR, DUPLICATE_EVENT_ERROR])
      expect(matched, name).toContain(name);
    expect([...RETRYABLE_VENDOR_ERRORS, RATE_LIMITED_ERROR, DUPLICATE_EVENT_ERROR]).toEqual([
      'TransientError',
      'BadResponseError',
      'RateLimitedError',
      'DuplicateEventError',
    ]);
  });
});

describe('failure reasons', () => {
  it('maps the analysis errors to the stable reasons of the failure event', () => {
    expect(
      ['InvalidEventError', 'ObjectNotFoundError', 'ObjectTooLargeError', 'DuplicateEventError'].map(failureReasonOf),
    ).toEqual(['InvalidEvent', 'ObjectNotFound', 'ObjectTooLarge', 'DuplicateEvent']);
  });

  it('reports any other error by its name', () => {
    expect(failureReasonOf('States.Timeout')).toBe('States.Timeout');
    expect(failureReasonOf('ZodError')).toBe('ZodError');
    expect(failureReasonOf('constructor')).toBe('constructor');
  });
});
