import { describe, expect, it } from 'vitest';
import type { ModelVersionHealth } from '#shared/observability/model-health-store';
import { TypicalLatencyReader } from '#shared/observability/typical-latency';

const row = (modelVersion: string, succeeded: number, p50: number | null): ModelVersionHealth => ({
  modelVersion,
  requests: succeeded + 1,
  succeeded,
  refused: 1,
  failed: 0,
  clientErrors: 0,
  refusedByCode: new Map(),
  failedByCode: new Map(),
  latency: new Map(),
  latencyMs: { p50, p90: p50 === null ? null : p50 * 2, p99: null },
});

describe('TypicalLatencyReader', () => {
  it('reads the last 7 UTC days once per TTL, and leaves out versions that answered nothing', async () => {
    const asked: [string, string][] = [];
    let now = new Date('2026-12-07T10:00:00Z');
    const reader = new TypicalLatencyReader(
      {
        range: async (from, to) => {
          asked.push([from, to]);
          return [row('sentiment@v1', 12, 3.5), row('ocr@ppocr-v4', 0, null)];
        },
      },
      { ttlMs: 60_000, now: () => now },
    );
    const first = await reader.byVersion();
    expect([...first.keys()]).toEqual(['sentiment@v1']);
    expect(first.get('sentiment@v1')).toEqual({ p50: 3.5, p90: 7, requests: 12, days: 7 });
    expect(asked).toEqual([['2026-12-01', '2026-12-07']]);
    now = new Date('2026-12-07T10:00:59Z');
    await reader.byVersion();
    expect(asked).toHaveLength(1);
    now = new Date('2026-12-07T10:01:00Z');
    await reader.byVersion();
    expect(asked).toHaveLength(2);
  });

  it('a failed read shows no latency, is reported, and is tried again on the next list', async () => {
    let calls = 0;
    const errors: unknown[] = [];
    const reader = new TypicalLatencyReader(
      {
        range: async () => {
          calls++;
          if (calls === 1) throw new Error('store down');
          return [row('sentiment@v1', 2, 1.2)];
        },
      },
      { onError: (e) => errors.push(e) },
    );
    expect((await reader.byVersion()).size).toBe(0);
    expect(errors).toHaveLength(1);
    expect((await reader.byVersion()).get('sentiment@v1')?.requests).toBe(2);
    expect(calls).toBe(2);
  });
});
