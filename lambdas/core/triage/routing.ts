import type { RuntimeConfig, SourceDisclosure } from '../config/runtime-config';
import {
  DETONATION_ENGINE,
  STATIC_ENGINE,
  type EngineId,
  type Sample,
  type VendorId,
  type WithheldEngine,
} from '../contracts/pipeline';

/** The disclosure rule of an object: the matching rule with the longest prefix (a bucket's own before any bucket's). */
export function disclosureRuleOf(
  object: Pick<Sample, 'bucket' | 'key'>,
  sources: readonly SourceDisclosure[],
): SourceDisclosure | undefined {
  let best: SourceDisclosure | undefined;
  for (const rule of sources) {
    if (rule.bucket !== undefined && rule.bucket !== object.bucket) continue;
    if (!object.key.startsWith(rule.prefix)) continue;
    const better =
      !best ||
      rule.prefix.length > best.prefix.length ||
      (rule.prefix.length === best.prefix.length && rule.bucket !== undefined && best.bucket === undefined);
    if (better) best = rule;
  }
  return best;
}

/** Whether a rule lets a vendor receive the source's files. */
function discloses(rule: SourceDisclosure | undefined, vendor: VendorId): boolean {
  if (!rule) return true;
  if (rule.vendors) return rule.vendors.includes(vendor);
  return !rule.confidential;
}

/**
 * The engines an upload goes to and the vendors its source's disclosure rule withholds from it:
 * {@link routeEngines}, less the vendors the rule does not name (a confidential source's files reach
 * no vendor unless the rule names one). The static engine and the detonation stay in the account.
 */
export function routeUpload(
  sample: Sample,
  config: Pick<RuntimeConfig, 'vendors' | 'detonation' | 'static' | 'sources'>,
): { engines: EngineId[]; withheld: WithheldEngine[] } {
  const rule = disclosureRuleOf(sample, config.sources);
  const engines: EngineId[] = [];
  const withheld: WithheldEngine[] = [];
  const vendorIds = new Set<string>(config.vendors.map((v) => v.id));
  for (const engine of routeEngines(sample, config)) {
    if (vendorIds.has(engine) && !discloses(rule, engine as VendorId))
      withheld.push({
        engine: engine as VendorId,
        reason: 'disclosure',
        source: `${rule?.bucket ?? '*'}/${rule?.prefix ?? ''}`,
      });
    else engines.push(engine);
  }
  return { engines, withheld };
}

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
