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

/** How to start each vendor's emulator, credentials required, on a given clock. */
export const EMULATORS: Record<VendorId, (clock: Clock) => VendorEmulator> = {
  cuckoo: (clock) => new CuckooEmulator({ clock, token: 'cuckoo-test-token', queueSeconds: 20, processingSeconds: 60 }),
  cape: (clock) => new CapeEmulator({ clock, token: 'cape-test-token', queueSeconds: 20, processingSeconds: 60 }),
  falcon: (clock) => new FalconEmulator({ clock, apiKey: 'falcon-test-key', queueSeconds: 20, processingSeconds: 60 }),
  fireeye: (clock) =>
    new FireeyeEmulator({
      clock,
      username: 'api-analyst',
      password: 'fireeye-test-password',
      queueSeconds: 20,
      processingSeconds: 60,
    }),
  joe: (clock) => new JoeEmulator({ clock, apiKey: 'joe-test-key', queueSeconds: 20, processingSeconds: 60 }),
  vmray: (clock) => new VmrayEmulator({ clock, apiKey: 'vmray-test-key', queueSeconds: 20, processingSeconds: 60 }),
  // WildFire is first polled after the five minutes PAN advises: its analyses take longer here.
  wildfire: (clock) =>
    new WildfireEmulator({
      clock,
      apiKey: 'wildfire-test-key',
      queueSeconds: 20,
      runSeconds: 300,
      processingSeconds: 60,
    }),
  triage: (clock) => new TriageEmulator({ clock, apiKey: 'triage-test-key', queueSeconds: 20, processingSeconds: 60 }),
  opswat: (clock) => new OpswatEmulator({ clock, apiKey: 'opswat-test-key', queueSeconds: 20, processingSeconds: 60 }),
};
