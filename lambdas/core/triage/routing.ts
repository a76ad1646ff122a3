import type { RuntimeConfig } from '../config/runtime-config';
import { DETONATION_ENGINE, STATIC_ENGINE, type EngineId, type Sample } from '../contracts/pipeline';

/**
 * The engines that apply to a sample: the static engine first (every file, so that none goes without
 * a verdict), then every enabled vendor whose size and type limits it meets, and our detonation for
 * the Linux types it runs. An empty object has nothing to run or submit: the static engine alone
 * judges it.
 */
export function routeEngines(
  sample: Sample,
  config: Pick<RuntimeConfig, 'vendors' | 'detonation' | 'static'>,
): EngineId[] {
  const judgeStatically = config.static.enabled && sample.size <= config.static.maxFileBytes;
  const first: EngineId[] = judgeStatically ? [STATIC_ENGINE] : [];
  if (sample.size === 0) return first;
  const vendors: EngineId[] = config.vendors
    .filter((vendor) => vendor.maxFileBytes === undefined || sample.size <= vendor.maxFileBytes)
    .filter((vendor) => !vendor.fileTypes?.length || vendor.fileTypes.includes(sample.fileType))
    .map((vendor) => vendor.id);
  const { detonation } = config;
  const detonate =
    detonation.enabled && detonation.fileTypes.includes(sample.fileType) && sample.size <= detonation.maxFileBytes;
  return [...first, ...vendors, ...(detonate ? [DETONATION_ENGINE] : [])];
}
