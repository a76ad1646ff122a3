import { beforeAll, describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { Context } from 'aws-lambda';
import { ENV } from '../../../../lambdas/core/config/runtime-config';
import {
  FAULT_INJECTION_ENV,
  faultInjectionFrom,
  faultsFor,
  objectKeyOf,
} from '../../../../lambdas/core/runtime/fault-injection';
import { SandtrapStack } from '../../../../lib/sandtrap-stack';

const injection = { keyPrefix: 'chaos/' };
const sample = (key: string) => ({
  bucket: 'ingest',
  key,
  versionId: 'v1',
  uploadId: 'v1',
  size: 3,
  sha256: 'a'.repeat(64),
  sha1: 'b'.repeat(40),
  md5: 'c'.repeat(32),
  fileType: 'text',
  mimeType: 'text/plain',
});

describe('fault injection for test stacks', () => {
  it('finds the object key in every step input shape', () => {
    // Triage gets the upload event with the execution's id.
    expect(objectKeyOf({ event: { detail: { object: { key: 'a/b.txt' } } }, owner: 'x' })).toBe('a/b.txt');
    expect(objectKeyOf({ detail: { object: { key: 'a/b.txt' } } })).toBe('a/b.txt');
    expect(objectKeyOf({ sample: { key: 'c.txt' } })).toBe('c.txt');
    expect(objectKeyOf({ state: { sample: { key: 'd.txt' } } })).toBe('d.txt');
    expect(objectKeyOf({ state: { detail: { object: { key: 'e.txt' } } } })).toBe('e.txt');
    expect(objectKeyOf({ nothing: true })).toBeUndefined();
  });

  it('hits only the step a key names, and only under the prefix', () => {
    const input = { sample: { key: 'chaos/crash-Finalize/throttle-VendorPoll/x.txt' } };
    expect(faultsFor(injection, 'Finalize', input)).toMatchObject({ crash: true, throttle: false });
    expect(faultsFor(injection, 'VendorPoll', input)).toMatchObject({ crash: false, throttle: true });
    expect(faultsFor(injection, 'Triage', input)).toMatchObject({ crash: false, throttle: false });
    expect(faultsFor(injection, 'Finalize', { sample: { key: 'other/crash-Finalize/x.txt' } })).toMatchObject({
      crash: false,
      throttle: false,
    });
    expect(faultsFor(undefined, 'Finalize', input)).toMatchObject({ crash: false, throttle: false });
  });

  it('rejects a malformed setting with the variable named', () => {
    expect(faultInjectionFrom({})).toBeUndefined();
    expect(() => faultInjectionFrom({ [FAULT_INJECTION_ENV]: '{' })).toThrow(`${FAULT_INJECTION_ENV} is not JSON`);
    expect(() => faultInjectionFrom({ [FAULT_INJECTION_ENV]: '{"keyPrefix":"","rate":1}' })).toThrow(
      FAULT_INJECTION_ENV,
    );
  });

  it('reaches every workflow function only when the stack is configured with it', () => {
    const envOf = (config: object) => {
      const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
      const stack = new SandtrapStack(app, 'Chaos', { config });
      const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).filter(
        (f) => f.Properties.Environment?.Variables?.[ENV.table],
      );
      return functions.map((f) => f.Properties.Environment.Variables[FAULT_INJECTION_ENV] as string | undefined);
    };
    const configured = envOf({ faultInjection: injection });
    expect(configured.length).toBeGreaterThanOrEqual(9);
    for (const value of configured) expect(JSON.parse(value ?? '{}')).toEqual(injection);
    expect(envOf({}).filter(Boolean)).toEqual([]);
  });

  describe('in a deployed handler', () => {
    let handler: (event: unknown, context: Context) => Promise<unknown>;
    const context = {
      functionName: 'CheckPeer',
      awsRequestId: 'r',
      invokedFunctionArn: 'arn',
      memoryLimitInMB: '256',
      functionVersion: '1',
    } as unknown as Context;
    const outcome = (key: string) => ({
      action: 'await-peer',
      sample: sample(key),
      engines: ['cape'],
      startedAt: 1,
      waitSeconds: 10,
      owner: 'o',
    });

    beforeAll(async () => {
      Object.assign(process.env, {
        [FAULT_INJECTION_ENV]: JSON.stringify(injection),
        [ENV.table]: 'verdicts',
        [ENV.reportsBucket]: 'reports',
        [ENV.settings]: '{}',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        // Nothing answers here: a call that got past the injected fault would fail with a network error instead.
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        POWERTOOLS_DEV: 'true',
        POWERTOOLS_TRACE_ENABLED: 'false',
      });
      ({ handler } = (await import('../../../../lambdas/handlers/check-peer')) as unknown as {
        handler: typeof handler;
      });
    });

    it('throws InjectedFault before doing anything for a key that names the step', async () => {
      await expect(handler(outcome('chaos/crash-CheckPeer/a.txt'), context)).rejects.toMatchObject({
        name: 'InjectedFault',
      });
    });

    it("throttles the step's DynamoDB calls for a key that names it, and only for that invocation", async () => {
      await expect(handler(outcome('chaos/throttle-CheckPeer/b.txt'), context)).rejects.toMatchObject({
        name: 'ProvisionedThroughputExceededException',
      });
      // The next upload is not named: its call goes out (and fails on the closed port, not on a throttle).
      const error = await handler(outcome('chaos/c.txt'), context).catch((e: Error) => e);
      expect((error as Error).name).not.toBe('ProvisionedThroughputExceededException');
      expect((error as Error).name).not.toBe('InjectedFault');
    }, 30_000);
  });
});
