import { build } from 'esbuild';
import { ESM_REQUIRE_BANNER } from '../lib/functions';
import { FUNCTIONS, handlerEntry, type FunctionId } from '../lib/handlers';
import type { Benchmark, Metric } from './metric';

const VENDOR_FUNCTIONS = new Set<FunctionId>(['VendorSubmitFn', 'VendorPollFn', 'VendorCollectFn']);

/** Minified size of one handler, bundled as `PipelineFunction` bundles it (ESM, AWS SDK external). */
async function bundleBytes(id: FunctionId): Promise<number> {
  const result = await build({
    entryPoints: [handlerEntry(id)],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    minify: true,
    external: ['@aws-sdk/*'],
    banner: { js: ESM_REQUIRE_BANNER },
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles.reduce((total, file) => total + file.contents.length, 0);
}

/** Lambda bundle sizes: every handler, the largest, and the largest vendor handler. */
export const bundleBenchmark: Benchmark = {
  title: 'Lambda bundles (minified, AWS SDK from the runtime)',
  async run() {
    const sizes = new Map<FunctionId, number>();
    for (const id of Object.keys(FUNCTIONS) as FunctionId[]) sizes.set(id, await bundleBytes(id));
    const kb = (bytes: number) => Math.round(bytes / 102.4) / 10;
    const metrics: Metric[] = [...sizes].map(([id, bytes]) => ({
      name: `bundle_kb_${FUNCTIONS[id].replace(/-/g, '_')}`,
      value: kb(bytes),
      unit: 'KB',
      ...(VENDOR_FUNCTIONS.has(id) ? { target: '< 300' } : {}),
    }));
    metrics.push({ name: 'bundle_kb_max', value: kb(Math.max(...sizes.values())), unit: 'KB', target: '< 300' });
    return metrics;
  },
};
