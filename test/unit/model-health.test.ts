import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BUCKETS,
  bucketBounds,
  bucketOf,
  type Histogram,
  mergeInto,
  observe,
  PERCENTILE_ERROR,
  percentile,
  totalCount,
} from '../../shared/observability/latency-histogram';
import {
  failingAlert,
  type HealthDelta,
  type HealthSink,
  ModelHealthRecorder,
  outcomeOf,
} from '../../shared/observability/model-health';

/** Nearest rank on the sorted samples: what the histogram approximates. */
function exactPercentile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

/** The documented bound: 4.9% of the value at 1 ms and up, 0.5 ms below, plus 0.1 ms rounding. */
function withinBound(estimate: number, exact: number): boolean {
  const allowed =
    (exact >= 1 ? PERCENTILE_ERROR.relative * exact : PERCENTILE_ERROR.absoluteMs) +
    PERCENTILE_ERROR.roundingMs +
    1e-9;
  return Math.abs(estimate - exact) <= allowed;
}

const latency = fc.oneof(
  fc.double({ min: 0, max: 1, noNaN: true }),
  fc.double({ min: 1, max: 60_000, noNaN: true }),
  fc.integer({ min: 1, max: 2_000 }),
);

describe('the latency histogram', () => {
  it('puts a value in the bucket whose bounds hold it', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 800_000, noNaN: true }), (ms) => {
        const i = bucketOf(ms);
        const [lo, hi] = bucketBounds(i);
        expect(i).toBeGreaterThanOrEqual(0);
        expect(i).toBeLessThan(BUCKETS);
        expect(ms).toBeGreaterThanOrEqual(lo);
        expect(ms).toBeLessThan(hi);
      }),
    );
    // Edges: exact powers land in the bucket they open; the slowest share the last bucket.
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(0.999)).toBe(0);
    expect(bucketOf(1)).toBe(1);
    expect(bucketOf(1.1)).toBe(2);
    expect(bucketOf(-5)).toBe(0);
    expect(bucketOf(Number.NaN)).toBe(0);
    expect(bucketOf(1e12)).toBe(BUCKETS - 1);
  });

  it('buckets are 10% wide', () => {
    for (let i = 1; i < BUCKETS; i++) {
      const [lo, hi] = bucketBounds(i);
      expect(hi / lo).toBeCloseTo(1.1, 9);
    }
  });

  it('percentiles are within the documented bound of an exact sort', () => {
    fc.assert(
      fc.property(fc.array(latency, { minLength: 1, maxLength: 400 }), (samples) => {
        const h: Histogram = new Map();
        for (const s of samples) observe(h, s);
        for (const q of [0.5, 0.9, 0.99]) {
          const estimate = percentile(h, q)!;
          const exact = exactPercentile(samples, q);
          expect(withinBound(estimate, exact), `q=${q} estimate=${estimate} exact=${exact}`).toBe(true);
        }
        expect(percentile(h, 0.5)!).toBeLessThanOrEqual(percentile(h, 0.9)!);
        expect(percentile(h, 0.9)!).toBeLessThanOrEqual(percentile(h, 0.99)!);
      }),
      { numRuns: 300 },
    );
  });

  it('merging histograms is the histogram of all the samples, in any order', () => {
    fc.assert(
      fc.property(fc.array(fc.array(latency, { maxLength: 50 }), { minLength: 1, maxLength: 6 }), (parts) => {
        const all: Histogram = new Map();
        for (const s of parts.flat()) observe(all, s);
        const merged: Histogram = new Map();
        for (const part of [...parts].reverse()) {
          const h: Histogram = new Map();
          for (const s of part) observe(h, s);
          mergeInto(merged, h);
        }
        expect(new Map([...merged].sort())).toEqual(new Map([...all].sort()));
        expect(totalCount(merged)).toBe(parts.flat().length);
      }),
    );
  });

  it('has no percentile when empty', () => {
    expect(percentile(new Map(), 0.5)).toBeNull();
  });
});

describe('the model health recorder', () => {
  it('classifies answers: 2xx served, 429/403 refused, 5xx failed, other 4xx client errors', () => {
    expect([200, 429, 403, 500, 502, 504, 400, 401, 404, 413].map(outcomeOf)).toEqual([
      'succeeded',
      'refused',
      'refused',
      'failed',
      'failed',
      'failed',
      'client_error',
      'client_error',
      'client_error',
      'client_error',
    ]);
  });

  /** A sink that fails when told and keeps what it was given. */
  function sink() {
    const written: HealthDelta[] = [];
    let failing = false;
    const s: HealthSink = {
      async add(deltas) {
        if (failing) return { unwritten: deltas, error: new Error('store down') };
        written.push(...deltas);
        return { unwritten: [] };
      },
    };
    return { s, written, fail: (f: boolean) => (failing = f) };
  }

  it('aggregates per day and version, flushes when due, and keeps counts across a failed flush', async () => {
    let now = Date.parse('2026-11-25T23:59:58Z');
    const out = sink();
    const errors: unknown[] = [];
    const r = new ModelHealthRecorder(out.s, {
      flushMs: 60_000,
      now: () => new Date(now),
      onError: (e) => errors.push(e),
    });
    r.record({ modelVersion: 'chat@tiny-1', status: 200, latencyMs: 12 });
    r.record({ modelVersion: 'chat@tiny-1', status: 429, code: 'rate_limit_requests' });
    r.record({ modelVersion: 'chat@tiny-1', status: 502, code: 'model_error' });
    r.record({ modelVersion: 'chat@tiny-1', status: 400, code: 'invalid_request' });
    // Not due yet: nothing written on the request path.
    await new Promise((res) => setImmediate(res));
    expect(out.written).toEqual([]);

    out.fail(true);
    await r.flush();
    expect(errors).toHaveLength(1);
    out.fail(false);
    now += 5_000; // the next day (UTC)
    r.record({ modelVersion: 'chat@tiny-1', status: 200, latencyMs: 30 });
    await r.flush();
    expect(out.written.map((d) => [d.day, d.modelVersion, d.requests])).toEqual([
      ['2026-11-25', 'chat@tiny-1', 4],
      ['2026-11-26', 'chat@tiny-1', 1],
    ]);
    const first = out.written[0]!;
    expect(first).toMatchObject({ succeeded: 1, refused: 1, failed: 1, clientErrors: 1 });
    expect(first.refusedByCode).toEqual(new Map([['rate_limit_requests', 1]]));
    expect(first.failedByCode).toEqual(new Map([['model_error', 1]]));
    expect(totalCount(first.latency)).toBe(1);

    // Due: the next record starts a flush in the background.
    now += 60_000;
    r.record({ modelVersion: 'ocr@tesseract-5', status: 200, latencyMs: 5 });
    await new Promise((res) => setTimeout(res, 0));
    expect(out.written.at(-1)).toMatchObject({ modelVersion: 'ocr@tesseract-5', requests: 1 });
    await r.close();
    expect(out.written).toHaveLength(3);
  });
});

describe('failingAlert', () => {
  const counts = (requests: number, failed: Record<string, number>) => ({
    requests,
    failed: Object.values(failed).reduce((a, b) => a + b, 0),
    failedByCode: new Map(Object.entries(failed)),
  });

  it('flags a version whose answers are mostly failures, naming the codes', () => {
    expect(failingAlert(counts(4, { model_not_installed: 4 }))).toBe(
      '4 of 4 answers failed (100%): model_not_installed 4',
    );
    expect(failingAlert(counts(10, { model_error: 2 }))).toBeNull();
  });

  it('never flags a version for its cold starts, and leaves them out of what it names', () => {
    expect(failingAlert(counts(5, { model_cold: 5 }))).toBeNull();
    expect(failingAlert(counts(8, { model_cold: 3, model_error: 4 }))).toBe(
      '4 of 8 answers failed (50%): model_error 4',
    );
  });
});
