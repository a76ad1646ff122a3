import { describe, expect, it } from 'vitest';
import { mergeMetrics } from '../../bench/merge-results';

describe('merging a partial benchmark run into the results', () => {
  const previous = [
    { name: 'local_latency_fresh_ms', value: 70.9, unit: 'ms' },
    { name: 'detection_key_recall', value: 0.5, unit: 'ratio', target: '>= 0.95' },
    { name: 'bundle_kb_max', value: 280, unit: 'KB', target: '< 300' },
  ];

  it("replaces the run's metrics in place and keeps the others' as they were", () => {
    const merged = mergeMetrics(previous, [
      { name: 'detection_key_recall', value: 0.9, unit: 'ratio', target: '>= 0.95' },
    ]);
    expect(merged).toEqual([
      previous[0],
      { name: 'detection_key_recall', value: 0.9, unit: 'ratio', target: '>= 0.95' },
      previous[2],
    ]);
  });

  it('appends metrics the file did not have yet', () => {
    const merged = mergeMetrics(previous, [{ name: 'detection_wall_s', value: 120, unit: 's' }]);
    expect(merged.map((m) => m.name)).toEqual([
      'local_latency_fresh_ms',
      'detection_key_recall',
      'bundle_kb_max',
      'detection_wall_s',
    ]);
  });
});
