import type { RuntimeConfig } from '../config/runtime-config';
import { DETONATION_ENGINE, type EngineId, type Sample } from '../contracts/pipeline';

/**
 * The engines that apply to a sample: every enabled vendor whose size and type limits it meets, and
 * our detonation for the Linux types it runs.
 */
export function routeEngines(sample: Sample, config: Pick<RuntimeConfig, 'vendors' | 'detonation'>): EngineId[] {
  const vendors: EngineId[] = config.vendors
    .filter((vendor) => vendor.maxFileBytes === undefined || sample.size <= vendor.maxFileBytes)
    .filter((vendor) => !vendor.fileTypes?.length || vendor.fileTypes.includes(sample.fileType))
    .map((vendor) => vendor.id);
  const { detonation } = config;
  const detonate =
    detonation.enabled && detonation.fileTypes.includes(sample.fileType) && sample.size <= detonation.maxFileBytes;
  return detonate ? [...vendors, DETONATION_ENGINE] : vendors;
}
