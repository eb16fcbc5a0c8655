import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { keys } from '#shared/db/keys';
import { shardOf } from '#shared/db/shard';
import { tableNames } from '#shared/db/tables';
import { newId } from '#shared/ids';
import { PLATFORM_SHARDS } from '#shared/metering/platform-usage';
import { reconcileMonth } from '#shared/metering/reconcile';
import type { UsageEvent } from '#shared/metering/usage-store';
import { createHarness, type Harness } from '../../support/harness';

const event = (tenantId: string, requestId: string, tokens: number): UsageEvent => ({
  requestId,
  tenantId,
  keyId: 'key_a',
  model: 'sentiment',
  version: 'v1',
  units: { input_tokens: tokens },
  costNanoUsd: tokens * 100,
  priceBook: 'pb-test',
  latencyMs: 1.5,
  status: 'succeeded',
  at: '2026-03-04T05:06:07.000Z',
});

describe('the usage ledger', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });

  it('records a request id once, however often and however concurrently it is written', async () => {
    const tenantId = newId('ten');
    const requestId = newId('req');
    const results = await Promise.all(
      Array.from({ length: 12 }, () => h.stores.usage.record(event(tenantId, requestId, 7))),
    );
    expect(results.filter((r) => r === 'recorded')).toHaveLength(1);
    expect(results.filter((r) => r === 'duplicate')).toHaveLength(11);
    expect(await h.stores.usage.record(event(tenantId, requestId, 7))).toBe('duplicate');
    await h.drainUsage();
    const [day] = await h.stores.usage.listDaily(tenantId, '2026-03-04', '2026-03-04');
    expect(day).toMatchObject({ requests: 1, inputTokens: 7, costNanoUsd: 700 });
    expect(await h.stores.usage.listEvents(tenantId)).toHaveLength(1);
  });

  it('keeps the aggregate equal to the sum of its events under concurrent writers to one hot item', async () => {
    const tenantId = newId('ten');
    const tokens = Array.from({ length: 40 }, (_, i) => i + 1);
    await Promise.all(tokens.map((t) => h.stores.usage.record(event(tenantId, newId('req'), t))));
    await h.drainUsage();
    const [day] = await h.stores.usage.listDaily(tenantId, '2026-03-01', '2026-03-31');
    const sum = tokens.reduce((a, b) => a + b, 0);
    expect(day).toMatchObject({ requests: 40, inputTokens: sum, costNanoUsd: sum * 100 });
  });

  it("stores a batch line's channel on its record and reads it back; an online record has none", async () => {
    const tenantId = newId('ten');
    const batchId = newId('req');
    const onlineId = newId('req');
    expect(await h.stores.usage.record({ ...event(tenantId, batchId, 4), channel: 'batch' })).toBe(
      'recorded',
    );
    expect(await h.stores.usage.record(event(tenantId, onlineId, 6))).toBe('recorded');

    const raw = await h.stores.dynamo.doc.send(
      new GetCommand({
        TableName: tableNames(h.config.STAGE).usage,
        Key: keys.usageEvent(tenantId, batchId),
      }),
    );
    expect(raw.Item?.channel).toBe('batch');
    expect((await h.stores.usage.get(tenantId, batchId))?.channel).toBe('batch');
    const online = await h.stores.usage.get(tenantId, onlineId);
    expect(online).toBeDefined();
    expect(online && 'channel' in online).toBe(false);
    const listed = await h.stores.usage.listEvents(tenantId);
    expect(new Map(listed.map((e) => [e.requestId, e.channel]))).toEqual(
      new Map([
        [batchId, 'batch'],
        [onlineId, undefined],
      ]),
    );
  });

  it('lists days in the range only', async () => {
    const tenantId = newId('ten');
    await h.stores.usage.record({ ...event(tenantId, newId('req'), 1), at: '2026-03-31T23:59:59.999Z' });
    await h.stores.usage.record({ ...event(tenantId, newId('req'), 1), at: '2026-04-01T00:00:00.000Z' });
    await h.drainUsage();
    expect((await h.stores.usage.listDaily(tenantId, '2026-03-01', '2026-03-31')).map((d) => d.day)).toEqual([
      '2026-03-31',
    ]);
    expect((await h.stores.usage.listDaily(tenantId, '2026-03-31', '2026-04-01')).map((d) => d.day)).toEqual([
      '2026-03-31',
      '2026-04-01',
    ]);
  });
});

describe('reconciliation', () => {
  it('finds zero differences when the ledger and aggregates agree, and names each one when they do not', async () => {
    const h = await createHarness();
    const tenantId = newId('ten');
    const at = '2026-06-15T10:00:00.000Z';
    const t = Date.parse(at);
    for (const [i, tokens] of [3, 4, 5].entries()) {
      await h.stores.usage.record({ ...event(tenantId, newId('req', t + i), tokens), at });
    }
    // Served in June but started in May's last second: still June's.
    await h.stores.usage.record({
      ...event(tenantId, newId('req', Date.parse('2026-05-31T23:59:59.900Z')), 1),
      at: '2026-06-01T00:00:00.100Z',
    });
    await h.drainUsage();
    const clean = await reconcileMonth(h.stores.usage, tenantId, '2026-06', h.stores.platformUsage);
    expect(clean).toMatchObject({ events: 4, aggregates: 2, differences: [] });

    await h.stores.dynamo.doc.send(
      new UpdateCommand({
        TableName: tableNames(h.config.STAGE).usage,
        Key: keys.usageDaily(tenantId, '2026-06-15', 'sentiment', 'v1', 'key_a'),
        UpdateExpression: 'ADD inputTokens :x',
        ExpressionAttributeValues: { ':x': 2 },
      }),
    );
    const dirty = await reconcileMonth(h.stores.usage, tenantId, '2026-06', h.stores.platformUsage);
    expect(dirty.differences).toEqual([
      {
        scope: 'daily',
        day: '2026-06-15',
        model: 'sentiment',
        version: 'v1',
        keyId: 'key_a',
        channel: 'online',
        field: 'inputTokens',
        fromEvents: 12,
        stored: 14,
      },
    ]);

    // The tenant's month total (what operators rank tenants by) is checked against the ledger too.
    await h.stores.dynamo.doc.send(
      new UpdateCommand({
        TableName: tableNames(h.config.STAGE).usage,
        Key: keys.platformTenantMonth('2026-06', shardOf(tenantId, PLATFORM_SHARDS), tenantId),
        UpdateExpression: 'ADD requests :x',
        ExpressionAttributeValues: { ':x': 1 },
      }),
    );
    const both = await reconcileMonth(h.stores.usage, tenantId, '2026-06', h.stores.platformUsage);
    expect(both.differences.map((d) => [d.scope, d.field, d.fromEvents, d.stored])).toEqual([
      ['daily', 'inputTokens', 12, 14],
      ['month_total', 'requests', 4, 5],
    ]);
  });
});
