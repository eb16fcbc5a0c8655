import { describe, expect, it } from 'vitest';
import {
  RefusalCounter,
  type RefusalDelta,
  type RefusalSink,
} from '../../shared/observability/refusal-counts';

/** A sink that keeps what it was given, and fails while `failing` is set. */
function sink() {
  const writes: RefusalDelta[][] = [];
  const s = {
    writes,
    failing: false,
    async add(deltas: RefusalDelta[]) {
      if (s.failing) return { unwritten: deltas, error: new Error('store down') };
      writes.push(deltas.map((d) => ({ ...d })));
      return { unwritten: [] };
    },
    total: () => writes.flat().reduce((n, d) => n + d.count, 0),
  } satisfies RefusalSink & Record<string, unknown>;
  return s;
}

const refusal = {
  tenantId: 'ten_a',
  keyId: 'key_a',
  projectId: 'proj_default',
  reason: 'rate_limit_requests',
  status: 429,
};

describe('refusal counts', () => {
  it('writes the first refusal of a bucket at once and the rest in one flush', async () => {
    let now = Date.parse('2026-12-07T10:00:05Z');
    const s = sink();
    const counter = new RefusalCounter(s, { flushMs: 0, now: () => new Date(now), onError: () => {} });
    for (let i = 0; i < 100; i++) counter.record(refusal);
    await Promise.resolve();
    expect(s.writes).toEqual([[{ ...refusal, minute: '2026-12-07T10:00', count: 1 }]]);
    await counter.flush();
    expect(s.writes).toHaveLength(2);
    expect(s.writes[1]).toEqual([{ ...refusal, minute: '2026-12-07T10:00', count: 99 }]);
    expect(counter.stats).toEqual({ writes: 2, recorded: 100 });

    // Another reason, another key, the next minute: each a bucket of its own, first written at once.
    counter.record({ ...refusal, reason: 'model_scope_denied', status: 403 });
    counter.record({ ...refusal, keyId: 'key_b' });
    now += 60_000;
    counter.record(refusal);
    await counter.flush();
    expect(
      s.writes.slice(2).map((w) => w.map((d) => `${d.minute} ${d.keyId} ${d.reason} ${d.count}`)),
    ).toEqual([
      ['2026-12-07T10:00 key_a model_scope_denied 1'],
      ['2026-12-07T10:00 key_b rate_limit_requests 1'],
      ['2026-12-07T10:01 key_a rate_limit_requests 1'],
    ]);
    expect(s.total()).toBe(103);
  });

  it('flushes from record when one is due, with no timer', async () => {
    let now = Date.parse('2026-12-07T10:00:00Z');
    const s = sink();
    const counter = new RefusalCounter(s, { flushMs: 1_000, now: () => new Date(now), onError: () => {} });
    for (let i = 0; i < 10; i++) counter.record(refusal);
    now += 1_000;
    counter.record(refusal);
    await counter.flush();
    expect(s.writes).toHaveLength(2);
    expect(s.total()).toBe(11);
  });

  it('puts back what a failed write held: nothing is lost while the store is down', async () => {
    const s = sink();
    const errors: unknown[] = [];
    const counter = new RefusalCounter(s, {
      flushMs: 0,
      now: () => new Date('2026-12-07T10:00:00Z'),
      onError: (e) => errors.push(e),
    });
    s.failing = true;
    for (let i = 0; i < 5; i++) counter.record(refusal);
    await counter.flush();
    expect(s.writes).toHaveLength(0);
    expect(errors.length).toBeGreaterThan(0);
    s.failing = false;
    await counter.close();
    expect(s.total()).toBe(5);
  });
});
