import { describe, expect, it } from 'vitest';
import {
  type AnalysisUsage,
  cheapestCompleting,
  costMetrics,
  type DeployedShape,
  detonationCost,
  loadPrices,
  suiteCompleted,
  taskOptions,
} from '../../bench/cost';
import type { Metric } from '../../bench/metric';
import { MEASURED_TASK_SIZES, suiteCompleteMetric } from '../../bench/task-sizes';
import { FUNCTION_IDS } from '../../lib/steps';

const prices = loadPrices();
const defaults: DeployedShape['detonation'] = {
  cpuUnits: 2048,
  memoryMiB: 4096,
  ephemeralStorageGiB: 21,
  architecture: 'X86_64',
};
const shape: DeployedShape = {
  lambdaMemoryMiB: Object.fromEntries(FUNCTION_IDS.map((id) => [id, 512])) as DeployedShape['lambdaMemoryMiB'],
  detonation: defaults,
  loggedWorkflows: ['front'],
};
const options = taskOptions(defaults);
const byId = (id: string) => {
  const option = options.find((o) => o.id === id);
  if (!option) throw new Error(`no task option ${id}`);
  return option;
};
/** What a task-size run records: 1 for the sizes named, 0 for the others. */
const suiteRun = (completing: readonly string[]): Metric[] =>
  MEASURED_TASK_SIZES.map((size) => ({
    name: suiteCompleteMetric(size.id),
    value: completing.includes(size.id) ? 1 : 0,
    unit: '',
  }));

describe('detonation task options', () => {
  it('offer Fargate Spot for x86_64 only, as Fargate does, and price each id once', () => {
    expect(options.filter((o) => o.spot).every((o) => o.architecture === 'X86_64')).toBe(true);
    expect(new Set(options.map((o) => o.id)).size).toBe(options.length);
    for (const size of MEASURED_TASK_SIZES) {
      const sameSize = options.filter((o) => o.cpuUnits === size.cpu && o.memoryMiB === size.memoryLimitMiB);
      expect(
        sameSize
          .filter((o) => o.architecture === 'X86_64')
          .map((o) => o.spot)
          .sort(),
      ).toEqual([false, true]);
    }
  });

  it('charge a Spot task its discount plus the interrupted share run again on demand', () => {
    const onDemand = detonationCost(byId('x86_1vcpu_2gb'), prices);
    const spot = detonationCost(byId('x86_1vcpu_2gb_spot'), prices);
    const { fargateSpotDiscount, fargateSpotInterruptedShare } = prices.prices;
    expect(spot).toBeCloseTo(onDemand * (1 - fargateSpotDiscount.fraction + fargateSpotInterruptedShare.fraction), 12);
    expect(spot).toBeLessThan(onDemand);
  });

  it('count as verified only where the measured x86_64 size of the same CPU and memory completed the suite', () => {
    const measured = suiteRun(['x86_2vcpu_4gb', 'x86_1vcpu_2gb']);
    expect(suiteCompleted(byId('default'), measured)).toBe(true);
    expect(suiteCompleted(byId('x86_1vcpu_2gb_spot'), measured)).toBe(true);
    expect(suiteCompleted(byId('x86_half_vcpu_1gb'), measured)).toBe(false);
    expect(suiteCompleted(byId('arm64_1vcpu_2gb'), measured)).toBeUndefined();
    expect(suiteCompleted(byId('default'), [])).toBeUndefined();
  });

  it('pick the cheapest option that completed the suite, never an unverified one', () => {
    expect(cheapestCompleting(options, suiteRun(['x86_2vcpu_4gb', 'x86_1vcpu_2gb']), prices)?.id).toBe(
      'x86_1vcpu_2gb_spot',
    );
    expect(cheapestCompleting(options, suiteRun(['x86_2vcpu_4gb']), prices)?.id).toBe('x86_2vcpu_4gb_spot');
    // arm64 is cheaper per vCPU, but never measured here.
    expect(detonationCost(byId('arm64_1vcpu_2gb'), prices)).toBeLessThan(detonationCost(byId('x86_1vcpu_2gb'), prices));
    expect(cheapestCompleting(options, [], prices)).toBeUndefined();
  });
});

describe('the vendor-and-detonation cost', () => {
  const usage: AnalysisUsage = {
    transitions: 10,
    expressExecutions: 1,
    expressBilledMs: 800,
    historyEvents: { front: 30, standard: 40 },
    invocations: {},
    requests: { s3: {}, s3BytesWritten: 0, dynamodb: {} },
    eventChunks: 1,
    handlerLogBytes: 0,
    handlerLogRecords: 0,
  };
  const measuredUsage = { fresh: [usage], cached: [usage], staticOnly: [usage] };
  const metric = (metrics: Metric[], name: string) => {
    const found = metrics.find((m) => m.name === name);
    if (!found) throw new Error(`no metric ${name}`);
    return found;
  };

  it('prices the detonation on the cheapest task that completed the suite, and names it', () => {
    const metrics = costMetrics(measuredUsage, shape, prices, suiteRun(['x86_2vcpu_4gb', 'x86_1vcpu_2gb']));
    const cheapest = metric(metrics, 'cost_usd_per_1000_vendor_detonation');
    const onDefault = metric(metrics, 'cost_usd_per_1000_vendor_detonation_default_task');
    const vendorOnly = metric(metrics, 'cost_usd_per_1000_vendor_5min').value;
    expect(cheapest.unit).toContain('x86_1vcpu_2gb_spot');
    expect(cheapest.value).toBeCloseTo(vendorOnly + 1000 * detonationCost(byId('x86_1vcpu_2gb_spot'), prices), 2);
    expect(onDefault.value).toBeCloseTo(vendorOnly + 1000 * detonationCost(byId('default'), prices), 2);
    expect(metric(metrics, 'cost_usd_per_1000_detonation_task_x86_half_vcpu_1gb').unit).toContain(
      'did not complete the suite',
    );
    expect(metric(metrics, 'cost_usd_per_1000_detonation_task_arm64_2vcpu_4gb').unit).toContain('not verified');
  });

  it('falls back to the default task, and says so, when no size was measured', () => {
    const metrics = costMetrics(measuredUsage, shape, prices, []);
    expect(metric(metrics, 'cost_usd_per_1000_vendor_detonation').value).toBe(
      metric(metrics, 'cost_usd_per_1000_vendor_detonation_default_task').value,
    );
    expect(metric(metrics, 'cost_usd_per_1000_vendor_detonation').unit).toContain('no task size has completed');
  });
});
