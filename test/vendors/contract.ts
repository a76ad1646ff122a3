import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { VendorId } from '../../lambdas/core/contracts/pipeline';
import type { ConnectorCapability, ConnectorInfo, SandboxConnector } from '../../lambdas/core/connector/connector';
import type { ConnectorContext } from '../../lambdas/core/connector/context';
import { RateLimitedError } from '../../lambdas/core/connector/errors';
import { type EmulatorFault, type VendorEmulator, vendorHasFault } from '../../emulators/emulator';
import { EMULATORS } from '../../emulators/index';
import { readAll, sample, TestClock, testVendorConfig } from './support';

/** Every failure a vendor can report on submit, where its emulator answers each fault. */
export const EVERY_SUBMIT_FAULT = [
  ['bad-key', 'AuthError'],
  ['rate-limited', 'RateLimitedError'],
  ['quota', 'QuotaExceededError'],
  ['server-error', 'TransientError'],
  ['malformed', 'BadResponseError'],
  ['truncated', 'TransientError'],
  ['oversize', 'SampleTooLargeError'],
  ['unsupported', 'UnsupportedFileError'],
] as const;

/** What the contract needs to know of one connector. */
export interface ConnectorContractSpec {
  id: VendorId;
  info: ConnectorInfo;
  /** The connector class the registry entry builds. */
  connector: new (
    context: ConnectorContext,
  ) => SandboxConnector;
  capabilities: readonly ConnectorCapability[];
  /** Faults met on submit, each with the error name the state machine sees. @default EVERY_SUBMIT_FAULT */
  submitFaults?: readonly (readonly [EmulatorFault, string])[];
  /** An item id to ask the status of (any: the faults answer before the vendor looks it up). */
  statusItemId: string;
  /** The Retry-After its emulator's rate-limited answer carries, in seconds. */
  retryAfterSeconds: number;
  /** The status of an analysis the vendor failed: its state, and the reason where the vendor gives one. */
  failedAnalysis: { state: string; reason?: string };
  /** Vendor options the emulator expects (Joe's terms acceptance, say). */
  options?: Record<string, string | number | boolean>;
  /** How the vendor takes credentials, where it differs from a bare key it may also go without. */
  auth?: VendorAuth;
}

/** How a vendor takes its credentials, as the contract checks its refusals. */
export interface VendorAuth {
  /** Credentials the vendor refuses: FireEye's are `user:password`, so a bare word would fail before any login. @default 'wrong' */
  wrong?: string;
  /** What the vendor's refusal of wrong credentials says, where it says more than "refused" (Joe's error code, say). */
  refusal?: string;
  /** The headers the credentials travel in, checked on the requests sent with the right and the wrong ones. */
  headers?: (secret: string) => Record<string, string>;
  /** The vendor refuses anonymous use: with no credentials at all, every call is an AuthError. */
  keyRequired?: boolean;
}

/**
 * The behaviour every connector shares, asserted against its vendor's emulator: the registry builds
 * it, every request passes the request gate of its context, it is unavailable when nothing listens, it refuses a sample over the configured size without
 * sending it, it maps the vendor's failures on submit and on a status poll to the typed errors, it
 * says unavailable when the probe is throttled or cut off, and it gives up on a slow vendor within the
 * request timeout.
 */
export function describeConnectorContract(spec: ConnectorContractSpec): void {
  describe(`${spec.id} connector contract`, () => {
    const clock = new TestClock();
    const emulator: VendorEmulator = EMULATORS[spec.id](clock);
    const credentials = () => Object.values(emulator.credentialsEnv())[0];
    // `as` names the credentials when they are not the emulator's own; `{}` connects without any.
    const connect = (
      baseUrl: string,
      extra: Record<string, unknown> = {},
      as: { credentials?: string } = { credentials: credentials() },
    ) =>
      new spec.connector({
        config: testVendorConfig(spec.id, baseUrl, { options: spec.options ?? {}, ...extra }),
        credentials: as.credentials,
        clock,
      });
    let connector: SandboxConnector;

    beforeAll(async () => {
      connector = connect(await emulator.start());
    });
    afterAll(() => emulator.stop());
    afterEach(() => emulator.setFault('none'));

    it('is built by its registry entry, with its capabilities', () => {
      const built = spec.info.create({
        config: testVendorConfig(spec.id, emulator.vendorConfig().baseUrl),
        credentials: credentials(),
        clock,
      });
      expect(built).toBeInstanceOf(spec.connector);
      expect(built.id).toBe(spec.id);
      expect(spec.info).toMatchObject({ id: spec.id, capabilities: spec.capabilities });
    });

    it('is available with the right credentials', async () => {
      await expect(connector.available()).resolves.toBe(true);
    });

    it('treats refused credentials as an AuthError rather than "down"', async () => {
      const { wrong = 'wrong', refusal, headers } = spec.auth ?? {};
      const sent = () => emulator.server.requests.at(-1)?.headers;
      await expect(connector.available()).resolves.toBe(true);
      if (headers) expect(sent()).toMatchObject(headers(credentials() ?? ''));
      await expect(
        connect(emulator.vendorConfig().baseUrl, {}, { credentials: wrong }).available(),
      ).rejects.toMatchObject({
        name: 'AuthError',
        ...(refusal !== undefined ? { message: expect.stringContaining(refusal) } : {}),
      });
      if (headers) expect(sent()).toMatchObject(headers(wrong));
    });

    if (spec.auth?.keyRequired) {
      it('refuses every call with an AuthError when no credentials are configured', async () => {
        const anonymous = connect(emulator.vendorConfig().baseUrl, {}, {});
        await expect(anonymous.available()).rejects.toMatchObject({ name: 'AuthError' });
        await expect(anonymous.submit(sample('x'))).rejects.toMatchObject({ name: 'AuthError' });
        await expect(anonymous.status(spec.statusItemId)).rejects.toMatchObject({ name: 'AuthError' });
      });
    }

    it('puts every request through the request gate of its context, and releases it once answered', async () => {
      let admitted = 0;
      let released = 0;
      const gated = new spec.connector({
        config: testVendorConfig(spec.id, emulator.vendorConfig().baseUrl, { options: spec.options ?? {} }),
        credentials: credentials(),
        clock,
        gate: async () => {
          admitted++;
          return () => released++;
        },
      });
      const before = emulator.server.requests.length;
      await expect(gated.available()).resolves.toBe(true);
      const sent = emulator.server.requests.length - before;
      expect(sent).toBeGreaterThan(0);
      expect(admitted).toBe(sent);
      expect(released).toBe(sent);
    });

    it('makes no more requests per call than it declares (the slots a step reserves ahead)', async () => {
      let sent = 0;
      const counted = new spec.connector({
        config: testVendorConfig(spec.id, emulator.vendorConfig().baseUrl, { options: spec.options ?? {} }),
        credentials: credentials(),
        clock,
        gate: async () => {
          sent++;
          return undefined;
        },
      });
      const cost = (call: 'submit' | 'status' | 'report') => counted.requestCosts?.[call] ?? 1;
      const counting = async <T>(call: 'submit' | 'status' | 'report', work: () => Promise<T>) => {
        sent = 0;
        const result = await work();
        expect(sent, `${spec.id} ${call}`).toBeLessThanOrEqual(cost(call));
        return result;
      };
      // A fresh connector: a first call that logs in counts too.
      const itemId = await counting('submit', () => counted.submit(sample('// a full cycle, counted')));
      let done = false;
      for (let i = 0; i < 20 && !done; i++) {
        clock.advance(120);
        done = (await counting('status', () => counted.status(itemId))).done;
      }
      expect(done).toBe(true);
      await counting('report', async () => readAll(await counted.report(itemId)));
    });

    it('sends nothing when the request gate refuses', async () => {
      const refused = new spec.connector({
        config: testVendorConfig(spec.id, emulator.vendorConfig().baseUrl, { options: spec.options ?? {} }),
        credentials: credentials(),
        clock,
        gate: () => Promise.reject(new RateLimitedError(spec.id, 'no slot left in this window', 30)),
      });
      const before = emulator.server.requests.length;
      await expect(refused.submit(sample('x'))).rejects.toMatchObject({ name: 'RateLimitedError' });
      expect(emulator.server.requests.length).toBe(before);
    });

    it('says unavailable when nothing listens', async () => {
      const { pathname } = new URL(emulator.vendorConfig().baseUrl);
      await expect(connect(`http://127.0.0.1:9${pathname}`).available()).resolves.toBe(false);
    });

    it('refuses a sample over the configured size limit without sending it', async () => {
      const small = connect(emulator.vendorConfig().baseUrl, { maxFileBytes: 4 });
      const before = emulator.server.requests.length;
      await expect(small.submit(sample('too many bytes'))).rejects.toMatchObject({ name: 'SampleTooLargeError' });
      expect(emulator.server.requests.length).toBe(before);
    });

    it.each((spec.submitFaults ?? EVERY_SUBMIT_FAULT).filter(([fault]) => vendorHasFault(spec.id, fault)))(
      'maps %s on submit to %s',
      async (fault, name) => {
        emulator.setFault(fault);
        await expect(connector.submit(sample('x'))).rejects.toMatchObject({ name });
      },
    );

    it('ends the poll on an analysis the vendor failed, with its state and reason', async () => {
      // A probe first: FireEye logs in then, so that the fault meets the upload and not the login.
      await connector.available();
      emulator.setFault('failed-analysis', 1);
      const itemId = await connector.submit(sample('// SANDTRAP-TEST-MALICIOUS fails in the sandbox'));
      clock.advance(400);
      const status = await connector.status(itemId);
      expect(status).toMatchObject({ done: false, failed: true, ...spec.failedAnalysis });
      if (spec.failedAnalysis.reason !== undefined)
        expect(status).toEqual({ done: false, failed: true, ...spec.failedAnalysis });
    });

    // A vendor without a rate-limit status (WildFire) has no rate-limited answer to honour.
    it.skipIf(!vendorHasFault(spec.id, 'rate-limited'))(
      'honours the Retry-After of a rate-limited status poll',
      async () => {
        emulator.setFault('rate-limited', 1);
        await expect(connector.status(spec.statusItemId)).rejects.toMatchObject({
          name: 'RateLimitedError',
          retryAfterSeconds: spec.retryAfterSeconds,
        });
      },
    );

    it.each([
      ['server-error', 'TransientError'],
      ['truncated', 'TransientError'],
      ['malformed', 'BadResponseError'],
    ] as const)('maps %s on a status poll to %s', async (fault, name) => {
      emulator.setFault(fault, 1);
      await expect(connector.status(spec.statusItemId)).rejects.toMatchObject({ name });
    });

    it.each((['rate-limited', 'truncated'] as const).filter((fault) => vendorHasFault(spec.id, fault)))(
      'says unavailable when the probe meets %s',
      async (fault) => {
        emulator.setFault(fault, 1);
        await expect(connector.available()).resolves.toBe(false);
      },
    );

    it('gives up on a slow answer within the request timeout, as a TransientError', async () => {
      emulator.setFault('slow');
      const started = Date.now();
      await expect(connector.status(spec.statusItemId)).rejects.toMatchObject({ name: 'TransientError' });
      expect(Date.now() - started).toBeLessThan(2_000);
    });
  });
}
