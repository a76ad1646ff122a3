import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { buildDependencyLayer, SHARED_PACKAGES } from '../lib/dependency-layer';
import { handlerBuildOptions } from '../lib/functions';
import { type FunctionId, handlerEntry, NODE_FUNCTION_IDS, type NodeFunctionId, STEPS } from '../lib/steps';
import type { Benchmark, Metric } from './metric';

const VENDOR_FUNCTIONS = new Set<FunctionId>(['VendorSubmitFn', 'VendorPollFn', 'VendorCollectFn']);

/** Minified size of one handler, bundled as `PipelineFunction` bundles it (ESM, AWS SDK and layer modules external). */
export async function bundleBytes(id: NodeFunctionId): Promise<number> {
  const result = await build({
    entryPoints: [handlerEntry(id)],
    ...handlerBuildOptions(),
    external: ['@aws-sdk/*', ...SHARED_PACKAGES],
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles.reduce((total, file) => total + file.contents.length, 0);
}

function treeBytes(path: string): number {
  return statSync(path).isDirectory()
    ? readdirSync(path).reduce((total, name) => total + treeBytes(join(path, name)), 0)
    : statSync(path).size;
}

/** Size of the shared dependency layer's content (unzipped), as the CDK app builds it. */
function layerBytes(): number {
  const dir = mkdtempSync(join(tmpdir(), 'sandtrap-bench-layer-'));
  try {
    buildDependencyLayer(dir, { bundleAwsSdk: false });
    return treeBytes(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Lambda bundle sizes: every handler, the largest, and the largest vendor handler; then the shared
 * dependency layer (deployed once per stack), and what a vendor handler's cold start loads in all.
 */
export const bundleBenchmark: Benchmark = {
  id: 'bundles',
  title: 'Lambda bundles (minified, AWS SDK from the runtime)',
  async run() {
    const sizes = new Map<FunctionId, number>();
    for (const id of NODE_FUNCTION_IDS) sizes.set(id, await bundleBytes(id));
    const kb = (bytes: number) => Math.round(bytes / 102.4) / 10;
    const metrics: Metric[] = [...sizes].map(([id, bytes]) => ({
      name: `bundle_kb_${STEPS[id].module.replace(/-/g, '_')}`,
      value: kb(bytes),
      unit: 'KB',
      ...(VENDOR_FUNCTIONS.has(id) ? { target: '< 300' } : {}),
    }));
    metrics.push({ name: 'bundle_kb_max', value: kb(Math.max(...sizes.values())), unit: 'KB', target: '< 300' });
    const layer = layerBytes();
    const largestVendor = Math.max(...[...VENDOR_FUNCTIONS].map((id) => sizes.get(id) ?? 0));
    metrics.push({ name: 'layer_kb_shared_dependencies', value: kb(layer), unit: 'KB' });
    metrics.push({ name: 'loaded_kb_vendor_handler_with_layer', value: kb(largestVendor + layer), unit: 'KB' });
    return metrics;
  },
};
