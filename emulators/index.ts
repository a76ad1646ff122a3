import type { Clock } from '../lambdas/core/contracts/clock';
import type { VendorId } from '../lambdas/core/contracts/pipeline';
import { CapeEmulator } from './cape';
import { CuckooEmulator } from './cuckoo';
import type { VendorEmulator } from './emulator';
import { FalconEmulator } from './falcon';
import { FireeyeEmulator } from './fireeye';
import { JoeEmulator } from './joe';
import { OpswatEmulator } from './opswat';
import { TriageEmulator } from './triage';
import { VmrayEmulator } from './vmray';
import { WildfireEmulator } from './wildfire';

/** The analysis times every test emulator runs with: a 20 s wait for a machine, a minute of processing. */
const TIMING = { queueSeconds: 20, processingSeconds: 60 };

/** How to start each vendor's emulator, credentials required, on a given clock. */
export const EMULATORS: Record<VendorId, (clock: Clock) => VendorEmulator> = {
  cuckoo: (clock) => new CuckooEmulator({ clock, ...TIMING, token: 'cuckoo-test-token' }),
  cape: (clock) => new CapeEmulator({ clock, ...TIMING, token: 'cape-test-token' }),
  falcon: (clock) => new FalconEmulator({ clock, ...TIMING, apiKey: 'falcon-test-key' }),
  fireeye: (clock) =>
    new FireeyeEmulator({ clock, ...TIMING, username: 'api-analyst', password: 'fireeye-test-password' }),
  joe: (clock) => new JoeEmulator({ clock, ...TIMING, apiKey: 'joe-test-key' }),
  vmray: (clock) => new VmrayEmulator({ clock, ...TIMING, apiKey: 'vmray-test-key' }),
  // WildFire is first polled after the five minutes PAN advises: its analyses take longer here.
  wildfire: (clock) => new WildfireEmulator({ clock, ...TIMING, apiKey: 'wildfire-test-key', runSeconds: 300 }),
  triage: (clock) => new TriageEmulator({ clock, ...TIMING, apiKey: 'triage-test-key' }),
  opswat: (clock) => new OpswatEmulator({ clock, ...TIMING, apiKey: 'opswat-test-key' }),
};
