import type { Behavior, BehaviorKey } from '../../lambdas/core/contracts/detonation-report';
import { emptyBehavior, noLimitsHit, type ReportParts } from '../../container/agent/report';

/** A start time for assembled test reports (epoch seconds). */
export const T0 = 1_780_000_000;

/**
 * The parts of a completed detonation of a small script, every capability on and nothing observed:
 * the baseline that report tests change one part of.
 */
export function reportParts(overrides: Partial<ReportParts> = {}): ReportParts {
  return {
    status: 'completed',
    sample: {
      name: 'probe.py',
      sha256: 'a'.repeat(64),
      size: 10,
      fileType: 'script-python',
      mimeType: 'text/x-python',
      preparation: { method: 'script' },
    },
    startedAt: T0,
    finishedAt: T0 + 3,
    endReason: 'exited',
    limits: {
      cpuSeconds: 60,
      cpus: 1,
      memoryBytes: 512 * 1024 ** 2,
      processes: 64,
      fileSizeBytes: 1024,
      diskBytes: 1024,
      timeoutSeconds: 60,
      idleTimeoutSeconds: 0,
    },
    limitsHit: noLimitsHit(),
    capabilities: { tracer: 'strace', seccompBpf: true, networkGuard: true, mountNamespace: true, pcap: 'disabled' },
    recorder: null,
    output: { bytes: 0, tail: '' },
    staticStrings: null,
    behavior: emptyBehavior(),
    notes: [],
    config: null,
    ...overrides,
  };
}

/** A behaviour with one critical indicator under `key`: enough for a malicious verdict on its own. */
export function criticalBehavior(key: BehaviorKey): Behavior {
  const behavior = emptyBehavior();
  behavior[key].push({
    id: `${key}.probe`,
    title: 'a probe',
    severity: 'critical',
    attack: [],
    evidence: ['line'],
    occurrences: 1,
    truncated: false,
  });
  return behavior;
}
