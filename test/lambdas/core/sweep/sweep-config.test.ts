import { describe, expect, it } from 'vitest';
import { loadSweepConfig, parseSweepSettings, SWEEP_ENV } from '../../../../lambdas/core/sweep/sweep-config';

const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Analysis';

describe('sweep settings', () => {
  it('defaults to an hour of deadline, a week of lookback, 100 re-drives a run and 3 attempts', () => {
    expect(parseSweepSettings(undefined)).toEqual({
      deadlineMinutes: 60,
      lookbackDays: 7,
      maxRedrivesPerRun: 100,
      maxAttempts: 3,
    });
  });

  it('needs a lookback reaching further back than the deadline: equal is refused', () => {
    expect(parseSweepSettings({ lookbackDays: 1, deadlineMinutes: 1439 }).lookbackDays).toBe(1);
    expect(() => parseSweepSettings({ lookbackDays: 1, deadlineMinutes: 1440 })).toThrow(
      /lookbackDays must reach further back than deadlineMinutes/,
    );
  });

  it.each([
    [{ deadlineMinutes: 7 * 24 * 60 + 1 }, 'deadlineMinutes'],
    [{ deadlineMinutes: 0 }, 'deadlineMinutes'],
    [{ lookbackDays: 366 }, 'lookbackDays'],
    [{ maxRedrivesPerRun: 1001 }, 'maxRedrivesPerRun'],
    [{ maxRedrivesPerRun: 2.5 }, 'maxRedrivesPerRun'],
    [{ maxAttempts: 21 }, 'maxAttempts'],
    [{ schedule: 'rate(5 minutes)' }, 'schedule'],
  ])('refuses %o, naming %s', (settings, field) => {
    expect(() => parseSweepSettings(settings, 'sweep')).toThrow(new RegExp(`invalid sweep:[\\s\\S]*${field}`));
  });

  it('takes the largest values allowed', () => {
    expect(
      parseSweepSettings({ deadlineMinutes: 7 * 24 * 60, lookbackDays: 365, maxRedrivesPerRun: 1000, maxAttempts: 20 }),
    ).toMatchObject({ maxRedrivesPerRun: 1000, maxAttempts: 20 });
  });
});

describe('loadSweepConfig: the sweep function’s environment', () => {
  const env = {
    [SWEEP_ENV.ingestBucket]: 'ingest-bucket',
    [SWEEP_ENV.stateMachineArn]: ARN,
    [SWEEP_ENV.settings]: JSON.stringify({ maxAttempts: 5 }),
  };

  it('reads bucket, state machine and settings; an empty prefix is no prefix', () => {
    const config = loadSweepConfig({ ...env, [SWEEP_ENV.ingestPrefix]: '' });
    expect(config).toMatchObject({ ingestBucket: 'ingest-bucket', stateMachineArn: ARN, maxAttempts: 5 });
    expect(config).not.toHaveProperty('ingestPrefix');
    expect(loadSweepConfig({ ...env, [SWEEP_ENV.ingestPrefix]: 'in/' }).ingestPrefix).toBe('in/');
  });

  it('names every variable when one is wrong', () => {
    expect(() => loadSweepConfig({ ...env, [SWEEP_ENV.stateMachineArn]: 'arn:aws:lambda:x:1:function:f' })).toThrow(
      /a state machine ARN/,
    );
    expect(() => loadSweepConfig({ ...env, [SWEEP_ENV.ingestBucket]: 'x' })).toThrow(/SANDTRAP_INGEST_BUCKET/);
    expect(() => loadSweepConfig({ ...env, [SWEEP_ENV.sources]: '[{"bucket":"b"}]' })).toThrow(
      /SANDTRAP_SWEEP_SOURCES[\s\S]*sources/,
    );
    // Without an ingest bucket of its own, the sweep re-drives its sources' uploads and reads no inventory.
    expect(loadSweepConfig({ ...env, [SWEEP_ENV.ingestBucket]: undefined })).not.toHaveProperty('ingestBucket');
    expect(() => loadSweepConfig({ ...env, [SWEEP_ENV.settings]: '{not json' })).toThrow(/SANDTRAP_SWEEP is not JSON/);
  });
});
