import { describe, expect, it } from 'vitest';
import { keys, USAGE_EVENT_SHARDS } from '../../shared/db/keys';
import { tableDefinitions, tableName, tableNames } from '../../shared/db/tables';

describe('key builders', () => {
  it('lead every tenant-owned partition with the tenant id', () => {
    const t = 'ten_01';
    for (const k of [
      keys.tenant(t),
      keys.apiKey(t, 'key_1'),
      keys.usageEvent(t, 'req_1'),
      keys.usageDaily(t, '2026-01-02', 'sentiment', 'v1', 'key_1'),
      keys.modelPin(t, 'ocr'),
    ]) {
      expect(k.pk === `TENANT#${t}` || k.pk.startsWith(`TENANT#${t}#`), k.pk).toBe(true);
    }
  });

  it("spread one tenant's usage records over USAGE_EVENT_SHARDS partitions, each request id in one", () => {
    const pks = new Set(Array.from({ length: 400 }, (_, i) => keys.usageEvent('t', `req_${i}x`).pk));
    expect(pks.size).toBe(USAGE_EVENT_SHARDS);
    for (const pk of pks) expect(pk).toMatch(/^TENANT#t#EV\d+$/);
    expect(keys.usageEvent('t', 'req_9').pk).toBe(keys.usageEvent('t', 'req_9').pk);
  });

  it('make one usage event key per request id, and distinct aggregates per day, model, version and key', () => {
    expect(keys.usageEvent('t', 'req_1')).toEqual(keys.usageEvent('t', 'req_1'));
    expect(keys.usageEvent('t', 'req_1').sk).not.toBe(keys.usageEvent('t', 'req_2').sk);
    const base = keys.usageDaily('t', '2026-01-02', 'm', 'v1', 'k1').sk;
    expect(
      new Set([
        base,
        keys.usageDaily('t', '2026-01-03', 'm', 'v1', 'k1').sk,
        keys.usageDaily('t', '2026-01-02', 'n', 'v1', 'k1').sk,
        keys.usageDaily('t', '2026-01-02', 'm', 'v2', 'k1').sk,
        keys.usageDaily('t', '2026-01-02', 'm', 'v1', 'k2').sk,
      ]).size,
    ).toBe(5);
    // Aggregates sort by day, so a date range is one key-range Query.
    expect(base.startsWith(`${keys.usageDailyPrefix()}2026-01-02#`)).toBe(true);
    expect(
      keys.usageDaily('t', '2026-01-02', 'm', 'v1', 'k').sk <
        keys.usageDaily('t', '2026-01-10', 'a', 'v1', 'k').sk,
    ).toBe(true);
  });

  it('keep the hash lookup apart from the key record', () => {
    expect(keys.apiKeyHash('abc').pk).toBe('APIKEYHASH#abc');
    expect(keys.apiKeyHash('abc').pk).not.toBe(keys.apiKey('t', 'k').pk);
  });

  it('name tables per stage from one definition', () => {
    expect(tableName('dev', 'main')).toBe('tollgate-dev-main');
    expect(tableNames('prod')).toEqual({ main: 'tollgate-prod-main', usage: 'tollgate-prod-usage' });
    expect(tableDefinitions.usage.stream).toBe(true);
  });

  it('keep model health in a partition of its own, sorted by day, apart from the usage shards', () => {
    const k = keys.modelHealthDaily('2026-01-02', 'chat@tiny-1');
    expect(k.pk).toBe(keys.modelHealthPartition());
    for (let shard = 0; shard < 64; shard++) expect(k.pk).not.toBe(keys.platformDailyShard(shard));
    expect(k.pk).not.toBe(keys.platformTenantMonthShard('2026-01', 0));
    // A date range is one key-range Query: every version of a day sorts between that day's bounds.
    expect(k.sk > 'DAY#2026-01-02' && k.sk < 'DAY#2026-01-02~').toBe(true);
    expect(k.sk < keys.modelHealthDaily('2026-01-03', 'aaa@1').sk).toBe(true);
    expect(keys.modelHealthDaily('2026-01-02', 'chat@tiny-2').sk).not.toBe(k.sk);
  });
});
