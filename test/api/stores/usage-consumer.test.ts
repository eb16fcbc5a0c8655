import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { keys } from '#shared/db/keys';
import { tableNames } from '#shared/db/tables';
import { newId } from '#shared/ids';
import { reconcileMonth } from '#shared/metering/reconcile';
import { repairMonth } from '#shared/metering/repair';
import { UsageConsumer, type UsageStreamRecord } from '#shared/metering/usage-consumer';
import type { UsageEvent } from '#shared/metering/usage-store';
import { createHarness, type Harness } from '../../support/harness';

const AT = '2026-08-20T10:00:00.000Z';

const event = (tenantId: string, i: number): UsageEvent => ({
  requestId: newId('req', Date.parse(AT) + i),
  tenantId,
  // Many keys: many aggregate items, so a batch takes several transactions.
  keyId: `key_${i % 7}`,
  model: 'sentiment',
  version: 'v1',
  units: { input_tokens: i + 1 },
  costNanoUsd: (i + 1) * 100,
  priceBook: 'pb',
  latencyMs: 2,
  status: 'succeeded',
  at: AT,
});

class Crash extends Error {}

/**
 * The stream consumer against DynamoDB Local's real stream: every change applied exactly once,
 * whatever the batches look like on retry, and whatever is cut off mid-batch.
 */
describe('the usage stream consumer', () => {
  let h: Harness;
  let streams: DynamoDBStreamsClient;
  let shardRecords: () => Promise<{ shardId: string; records: UsageStreamRecord[] }[]>;

  beforeAll(async () => {
    h = await createHarness();
    const names = tableNames(h.config.STAGE);
    streams = new DynamoDBStreamsClient({
      region: 'us-east-1',
      endpoint: inject('dynamoEndpoint'),
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const arn = (await h.stores.dynamo.client.send(new DescribeTableCommand({ TableName: names.usage })))
      .Table!.LatestStreamArn!;
    // Everything the stream holds now, per shard, from its start (as a replay would deliver it).
    shardRecords = async () => {
      const shards = (await streams.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription!
        .Shards!;
      const out = [];
      for (const s of shards) {
        const it = await streams.send(
          new GetShardIteratorCommand({
            StreamArn: arn,
            ShardId: s.ShardId,
            ShardIteratorType: 'TRIM_HORIZON',
          }),
        );
        const page = await streams.send(
          new GetRecordsCommand({ ShardIterator: it.ShardIterator, Limit: 1000 }),
        );
        out.push({ shardId: s.ShardId!, records: (page.Records ?? []) as UsageStreamRecord[] });
      }
      return out;
    };
  });

  it('a batch cut off mid-way and replayed (whole, then bisected) leaves aggregates equal to the events', async () => {
    const tenantId = newId('ten');
    const events = Array.from({ length: 40 }, (_, i) => event(tenantId, i));
    for (const e of events) await h.stores.usage.record(e);
    // A void (a model call that failed after its record was written) and a record written twice.
    expect(await h.stores.usage.void(tenantId, events[3]!.requestId)).toBe(true);
    expect(await h.stores.usage.record(events[5]!)).toBe('duplicate');

    const names = tableNames(h.config.STAGE);
    let commits = 0;
    const crashing = new UsageConsumer(h.stores.dynamo.doc, names, {
      maxItems: 4,
      afterCommit: () => {
        if (++commits === 3) throw new Crash('the consumer dies after its third transaction');
      },
    });
    const batches = await shardRecords();
    const total = batches.reduce((n, b) => n + b.records.length, 0);
    expect(total).toBeGreaterThanOrEqual(41);
    // The first attempt dies part-way through the batch.
    await expect(
      (async () => {
        for (const b of batches) await crashing.apply(b.shardId, b.records);
      })(),
    ).rejects.toBeInstanceOf(Crash);

    // The event source mapping retries it, then bisects it: halves, in order, then the whole again.
    const consumer = new UsageConsumer(h.stores.dynamo.doc, names, { maxItems: 4 });
    for (const b of batches) {
      const half = Math.ceil(b.records.length / 2);
      const first = await consumer.apply(b.shardId, b.records.slice(0, half));
      await consumer.apply(b.shardId, b.records.slice(half));
      const again = await consumer.apply(b.shardId, b.records);
      expect(first.skipped).toBeGreaterThan(0);
      expect(again).toMatchObject({ applied: 0, skipped: b.records.length });
    }

    const rows = await h.stores.usage.listDaily(tenantId, '2026-08-20', '2026-08-20');
    const billed = events.filter((_, i) => i !== 3);
    const sum = (f: (e: UsageEvent) => number) => billed.reduce((a, e) => a + f(e), 0);
    expect(rows.reduce((a, r) => a + r.requests, 0)).toBe(billed.length);
    expect(rows.reduce((a, r) => a + r.inputTokens, 0)).toBe(sum((e) => e.units.input_tokens ?? 0));
    expect(rows.reduce((a, r) => a + r.costNanoUsd, 0)).toBe(sum((e) => e.costNanoUsd));
    // The ledger's own check agrees: daily rows and the tenant's month total, to the unit.
    const check = await reconcileMonth(h.stores.usage, tenantId, '2026-08', h.stores.platformUsage);
    expect(check).toMatchObject({ events: billed.length, differences: [] });
    const platform = await h.stores.platformUsage.daily('2026-08-20', '2026-08-20');
    expect(platform.find((p) => p.model === 'sentiment')?.requests).toBeGreaterThanOrEqual(billed.length);
  });

  it('an open stream record counts only once closed, and a close moves the aggregates by what changed', async () => {
    const tenantId = newId('ten');
    const open: UsageEvent = {
      ...event(tenantId, 0),
      model: 'chat',
      version: 'tiny-1',
      units: { input_tokens: 5, output_tokens: 32 },
      costNanoUsd: 3_700,
      status: 'open',
      expiresAt: '2026-08-20T10:05:00.000Z',
    };
    await h.stores.usage.record(open);
    await h.drainUsage();
    expect(await h.stores.usage.listDaily(tenantId, '2026-08-20', '2026-08-20')).toEqual([]);
    // Its allowance grows while it streams; a close from the wrong allowance is refused.
    const grown = { ...open, units: { input_tokens: 5, output_tokens: 64 }, costNanoUsd: 6_900 };
    expect(await h.stores.usage.advance(open, open, grown)).toBe(true);
    expect(await h.stores.usage.advance(open, open, { ...grown, status: 'succeeded' })).toBe(false);
    const closed = { ...grown, units: { input_tokens: 5, output_tokens: 40 }, costNanoUsd: 4_500 };
    expect(await h.stores.usage.advance(open, grown, { ...closed, status: 'succeeded' })).toBe(true);
    await h.drainUsage();
    expect(await h.stores.usage.listDaily(tenantId, '2026-08-20', '2026-08-20')).toMatchObject([
      { requests: 1, inputTokens: 5, outputTokens: 40, costNanoUsd: 4_500 },
    ]);
    expect(await h.stores.usage.listEvents(tenantId)).toHaveLength(1);
  });

  it('a batch discarded after its retries (the shard moved past it) is repaired from the ledger, once', async () => {
    const day = '2026-08-23';
    const tenantId = newId('ten');
    const events = Array.from({ length: 12 }, (_, i) => ({
      ...event(tenantId, i),
      at: `${day}T09:00:00.000Z`,
    }));
    for (const e of events) await h.stores.usage.record(e);
    const names = tableNames(h.config.STAGE);
    // The mapping gave up on the batch holding events 4..8, then applied the shard's later records:
    // the checkpoint is past them, so a replay of that batch would apply nothing.
    const lost = new Set(events.slice(4, 9).map((e) => e.requestId));
    const consumer = new UsageConsumer(h.stores.dynamo.doc, names);
    for (const b of await shardRecords()) {
      const kept = b.records.filter((r) => !lost.has(String(r.dynamodb?.NewImage?.requestId?.S)));
      await consumer.apply(b.shardId, kept);
      expect(kept.length).toBeLessThanOrEqual(b.records.length);
    }
    await h.drainUsage();
    const month = day.slice(0, 7);
    const before = await reconcileMonth(h.stores.usage, tenantId, month, h.stores.platformUsage);
    expect(before.differences.length).toBeGreaterThan(0);

    const repaired = await repairMonth(h.stores.dynamo.doc, names, before);
    expect(repaired).toMatchObject({ changedMeanwhile: 0 });
    expect(repaired.repaired).toBeGreaterThan(0);
    expect(await reconcileMonth(h.stores.usage, tenantId, month, h.stores.platformUsage)).toMatchObject({
      events: events.length,
      differences: [],
    });
    // The operators' day total moved with it: every event of the day, to the unit.
    const platform = (await h.stores.platformUsage.daily(day, day)).find((p) => p.model === 'sentiment');
    expect(platform).toMatchObject({
      requests: events.length,
      inputTokens: events.reduce((a, e) => a + (e.units.input_tokens ?? 0), 0),
      costNanoUsd: events.reduce((a, e) => a + e.costNanoUsd, 0),
    });
    // The same reconciliation applied twice changes nothing the second time.
    expect(await repairMonth(h.stores.dynamo.doc, names, before)).toMatchObject({
      repaired: 0,
      changedMeanwhile: repaired.repaired,
    });
    expect(
      (await reconcileMonth(h.stores.usage, tenantId, month, h.stores.platformUsage)).differences,
    ).toEqual([]);
  });

  it('aggregates batch lines apart from online calls, the same key and day, and repairs each apart', async () => {
    const day = '2026-08-24';
    const tenantId = newId('ten');
    // A version of its own: the platform's day x version rows hold this test's records only.
    const version = `v-${tenantId}`;
    const events = Array.from({ length: 10 }, (_, i) => ({
      ...event(tenantId, i),
      keyId: 'key_same',
      version,
      at: `${day}T11:00:00.000Z`,
      ...(i % 3 === 0 ? { channel: 'batch' as const } : {}),
    }));
    const batch = events.filter((e) => e.channel === 'batch');
    const online = events.filter((e) => e.channel === undefined);
    const sum = (es: UsageEvent[]) => ({
      requests: es.length,
      inputTokens: es.reduce((a, e) => a + (e.units.input_tokens ?? 0), 0),
      costNanoUsd: es.reduce((a, e) => a + e.costNanoUsd, 0),
    });
    expect(batch).toHaveLength(4);
    const names = tableNames(h.config.STAGE);
    // The batch holding one online and one batch record is discarded after its retries.
    const lost = new Set([online[1]!.requestId, batch[1]!.requestId]);
    for (const e of events) await h.stores.usage.record(e);
    const consumer = new UsageConsumer(h.stores.dynamo.doc, names);
    for (const b of await shardRecords()) {
      await consumer.apply(
        b.shardId,
        b.records.filter((r) => !lost.has(String(r.dynamodb?.NewImage?.requestId?.S))),
      );
    }
    await h.drainUsage();

    const rows = await h.stores.usage.listDaily(tenantId, day, day);
    expect(rows.map((r) => r.channel).sort()).toEqual(['batch', 'online']);
    const lostOf = (es: UsageEvent[]) => es.filter((e) => !lost.has(e.requestId));
    expect(rows.find((r) => r.channel === 'online')).toMatchObject({
      keyId: 'key_same',
      ...sum(lostOf(online)),
    });
    expect(rows.find((r) => r.channel === 'batch')).toMatchObject({
      keyId: 'key_same',
      ...sum(lostOf(batch)),
    });

    // The online item is keyed and shaped as before batches existed; the batch item has its own.
    const online0 = await h.stores.dynamo.doc.send(
      new GetCommand({
        TableName: names.usage,
        Key: keys.usageDaily(tenantId, day, 'sentiment', version, 'key_same'),
      }),
    );
    expect(online0.Item?.sk).toBe(`DAY#${day}#sentiment#${version}#key_same`);
    expect(online0.Item && 'channel' in online0.Item).toBe(false);
    const batch0 = await h.stores.dynamo.doc.send(
      new GetCommand({
        TableName: names.usage,
        Key: keys.usageDaily(tenantId, day, 'sentiment', version, 'key_same', 'batch'),
      }),
    );
    expect(batch0.Item).toMatchObject({ channel: 'batch', requests: batch.length - 1 });

    const month = day.slice(0, 7);
    const before = await reconcileMonth(h.stores.usage, tenantId, month, h.stores.platformUsage);
    expect(
      before.differences
        .filter((d) => d.scope === 'daily' && d.field === 'requests')
        .map((d) => d.channel)
        .sort(),
    ).toEqual(['batch', 'online']);
    expect(await repairMonth(h.stores.dynamo.doc, names, before)).toMatchObject({
      repaired: 2,
      changedMeanwhile: 0,
    });
    expect(await reconcileMonth(h.stores.usage, tenantId, month, h.stores.platformUsage)).toMatchObject({
      events: events.length,
      differences: [],
    });
    const after = await h.stores.usage.listDaily(tenantId, day, day);
    expect(after.find((r) => r.channel === 'online')).toMatchObject(sum(online));
    expect(after.find((r) => r.channel === 'batch')).toMatchObject(sum(batch));
    // The operators' day x version rows: online and batch apart, each to the unit, summing to all.
    const platform = (await h.stores.platformUsage.daily(day, day)).filter((p) => p.version === version);
    expect(platform.map((p) => p.channel)).toEqual(['online', 'batch']);
    expect(platform[0]).toMatchObject(sum(online));
    expect(platform[1]).toMatchObject(sum(batch));
    expect(platform[0]!.costNanoUsd + platform[1]!.costNanoUsd).toBe(sum(events).costNanoUsd);
  });

  it('says how fresh the aggregates are: through the last change applied, or the last time it was caught up', async () => {
    await h.drainUsage();
    const checkpoints = await h.stores.usageConsumer.checkpoints();
    expect(checkpoints.length).toBeGreaterThan(0);
    for (const c of checkpoints) expect(c.seq).toEqual(expect.any(String));
  });
});
