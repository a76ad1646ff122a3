import type { Clock } from '../../lambdas/core/clock';
import type { VendorId } from '../../lambdas/core/schemas';
import { CapeEmulator } from './cape';
import type { VendorEmulator } from './emulator';

/** How to start each vendor's emulator with credentials required, on a given clock. */
export const EMULATORS: Partial<Record<VendorId, (clock: Clock) => VendorEmulator>> = {
  cape: (clock) => new CapeEmulator({ clock, token: 'cape-test-token', queueSeconds: 20, processingSeconds: 60 }),
};
