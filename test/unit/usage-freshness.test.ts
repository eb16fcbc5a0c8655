import { describe, expect, it } from 'vitest';
import { FRESHNESS_CACHE_MS, UsageFreshness } from '#api/http/usage-freshness';
import { type ConsumerCheckpoint, freshness, SILENT_SHARD_MS } from '#shared/metering/usage-consumer';

const NOW = Date.parse('2026-11-02T12:03:42.000Z');

/** A checkpoint source that counts its Queries, and a clock the test moves. */
function setup(checkpoints: () => Promise<ConsumerCheckpoint[]>) {
  let clock = 0;
  let queries = 0;
  const f = new UsageFreshness(
    {
      checkpoints: () => {
        queries++;
        return checkpoints();
      },
    },
    { now: () => new Date(NOW), clock: () => clock },
  );
  return {
    f,
    queries: () => queries,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe('UsageFreshness: how fresh the usage aggregates are, read at most once a second per instance', () => {
  it('answers the oldest shard’s "through" time and the lag behind now', async () => {
    const { f } = setup(async () => [
      { shardId: 'a', lastEventAt: NOW - 800, caughtUpAt: NOW - 5_000 },
      { shardId: 'b', caughtUpAt: NOW - 1_250 },
    ]);
    expect(await f.read()).toEqual({ as_of: '2026-11-02T12:03:40.750Z', lag_ms: 1_250 });
  });

  it('reuses one Query for concurrent answers and for FRESHNESS_CACHE_MS, then reads again', async () => {
    let through = NOW - 2_000;
    const s = setup(async () => [{ shardId: 'a', caughtUpAt: through }]);
    const [a, b] = await Promise.all([s.f.read(), s.f.read()]);
    expect(a).toEqual(b);
    expect(s.queries()).toBe(1);
    through = NOW - 100;
    s.advance(FRESHNESS_CACHE_MS - 1);
    expect((await s.f.read()).lag_ms).toBe(2_000);
    expect(s.queries()).toBe(1);
    s.advance(1);
    expect((await s.f.read()).lag_ms).toBe(100);
    expect(s.queries()).toBe(2);
  });

  it('answers unknown when nothing says (no checkpoint yet) or the read fails, and keeps no failure', async () => {
    let fail = true;
    const s = setup(async () => {
      if (fail) throw new Error('store down');
      return [];
    });
    expect(await s.f.read()).toEqual({ as_of: null, lag_ms: null });
    fail = false;
    // Not cached: the next answer reads again, at once.
    expect(await s.f.read()).toEqual({ as_of: null, lag_ms: null });
    expect(s.queries()).toBe(2);
  });
});

describe('freshness: which shards count', () => {
  const at = (ms: number) => new Date(NOW - ms).toISOString();

  it('a closed shard no longer holds the freshness back, nor does one unheard of for SILENT_SHARD_MS', () => {
    const open: ConsumerCheckpoint = { shardId: 'open', lastEventAt: NOW - 900, appliedAt: NOW - 800 };
    // Read to its end an hour ago (locally the poller says so).
    const closed: ConsumerCheckpoint = {
      shardId: 'closed',
      lastEventAt: NOW - 3_600_000,
      closedAt: NOW - 3_590_000,
    };
    // In AWS nothing says a shard ended: it goes silent.
    const silent: ConsumerCheckpoint = {
      shardId: 'silent',
      lastEventAt: NOW - SILENT_SHARD_MS - 5_000,
      appliedAt: NOW - SILENT_SHARD_MS - 1,
    };
    expect(freshness([open, closed, silent], new Date(NOW))).toEqual({ asOf: at(900), lagMs: 900 });
    // Heard of just inside the bound: it still counts.
    const recent = { ...silent, appliedAt: NOW - SILENT_SHARD_MS + 1 };
    expect(freshness([open, recent], new Date(NOW))).toEqual({
      asOf: at(SILENT_SHARD_MS + 5_000),
      lagMs: SILENT_SHARD_MS + 5_000,
    });
  });

  it('a shard whose batches keep failing keeps counting, so the lag shows how far behind it is', () => {
    const stuck: ConsumerCheckpoint = {
      shardId: 'stuck',
      lastEventAt: NOW - 2 * 3_600_000,
      appliedAt: NOW - 2 * 3_600_000,
      failedAt: NOW - 30_000,
    };
    const fine: ConsumerCheckpoint = { shardId: 'fine', caughtUpAt: NOW - 1_000 };
    expect(freshness([stuck, fine], new Date(NOW))).toEqual({
      asOf: at(2 * 3_600_000),
      lagMs: 2 * 3_600_000,
    });
  });
});
