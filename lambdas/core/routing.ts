import type { RuntimeConfig } from './config';
import type { EngineId, Sample } from './schemas';

/** The engines that apply to a sample: every enabled vendor whose size and type limits it meets. */
export function routeEngines(sample: Sample, config: Pick<RuntimeConfig, 'vendors'>): EngineId[] {
  return config.vendors
    .filter((vendor) => vendor.maxFileBytes === undefined || sample.size <= vendor.maxFileBytes)
    .filter((vendor) => !vendor.fileTypes?.length || vendor.fileTypes.includes(sample.fileType))
    .map((vendor) => vendor.id);
}
