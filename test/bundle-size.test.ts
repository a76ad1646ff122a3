import { describe, expect, it } from 'vitest';
import { bundleBytes } from '../bench/bundles';

describe('vendor handler bundles', () => {
  it.each(['VendorSubmitFn', 'VendorPollFn', 'VendorCollectFn'] as const)(
    '%s stays under 300 KB minified (the shared layer holds undici)',
    async (id) => {
      const bytes = await bundleBytes(id);
      expect(bytes).toBeGreaterThan(50 * 1024);
      expect(bytes).toBeLessThan(300 * 1024);
    },
  );
});
