import * as z from 'zod';
import { jsonFromEnv } from '../config/runtime-config';

/**
 * Opt-in fault injection for a deployed stack, to prove that nothing is lost when a function throws
 * mid-analysis or DynamoDB throttles (the e2e run switches it on; production stacks never do).
 * Faults are chosen by the object key, so that they hit only the uploads a test names: under
 * `keyPrefix`, a path segment `crash-<Step>` makes that step's function throw on every invocation
 * for the upload, and `throttle-<Step>` makes every DynamoDB call of that step throttle, with
 * `<Step>` a handler name (`Triage`, `VendorSubmit`, `VendorPoll`, `VendorCollect`, `Finalize`...).
 */
export const FaultInjectionSchema = z
  .object({
    /** Only uploads under this prefix can be hit. */
    keyPrefix: z.string().min(1),
  })
  .strict();
export type FaultInjection = z.infer<typeof FaultInjectionSchema>;

/** The variable that carries {@link FaultInjection} to the functions, as JSON. */
export const FAULT_INJECTION_ENV = 'SANDTRAP_FAULT_INJECTION';

/** What an injected crash throws. */
export class InjectedFault extends Error {
  constructor(step: string, key: string) {
    super(`injected crash in ${step} for ${key}`);
    this.name = 'InjectedFault';
  }
}

/** The fault injection the environment switches on, if any; a clear error when it is malformed. */
export function faultInjectionFrom(env: NodeJS.ProcessEnv): FaultInjection | undefined {
  const parsed = jsonFromEnv(env, FAULT_INJECTION_ENV);
  if (parsed === undefined) return undefined;
  const result = FaultInjectionSchema.safeParse(parsed);
  if (!result.success) throw new Error(`${FAULT_INJECTION_ENV}: ${z.prettifyError(result.error)}`);
  return result.data;
}

const KEY_PATHS: readonly (readonly string[])[] = [
  ['sample', 'key'],
  ['event', 'detail', 'object', 'key'],
  ['detail', 'object', 'key'],
  ['state', 'sample', 'key'],
  ['state', 'detail', 'object', 'key'],
];

/** The object key a step's input is about, wherever the step carries it. */
export function objectKeyOf(input: unknown): string | undefined {
  for (const path of KEY_PATHS) {
    let value: unknown = input;
    for (const name of path)
      value = value && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined;
    if (typeof value === 'string') return value;
  }
  return undefined;
}

/** The faults that hit `step` for an input: a crash, DynamoDB throttling, or neither. */
export function faultsFor(
  injection: FaultInjection | undefined,
  step: string,
  input: unknown,
): { key?: string; crash: boolean; throttle: boolean } {
  const key = objectKeyOf(input);
  if (!injection || !key?.startsWith(injection.keyPrefix)) return { crash: false, throttle: false };
  const segments = key.slice(injection.keyPrefix.length).split('/');
  return { key, crash: segments.includes(`crash-${step}`), throttle: segments.includes(`throttle-${step}`) };
}

/** The error DynamoDB answers a throttled request with, as the SDK raises it. */
export function throttlingError(): Error {
  return Object.assign(new Error('Rate of requests exceeds the allowed throughput (injected).'), {
    name: 'ProvisionedThroughputExceededException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}
