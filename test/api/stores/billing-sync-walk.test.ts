import { BatchWriteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillingDeps } from '#shared/billing/billing-deps';
import type { SyncOptions } from '#shared/billing/meter-sync';
import { meterEventName } from '#shared/billing/meters';
import type { BillingUnit } from '#shared/catalog/types';
import { keys } from '#shared/db/keys';
import { tableName } from '#shared/db/tables';
import { newId } from '#shared/ids';
import { costNanoUsd } from '#shared/metering/pricing';
import { type UsageEvent, usageEventItem } from '#shared/metering/usage-store';
import { type Tenant, tenantPutItems } from '#shared/tenants/tenant-store';
import { type BillingSyncResult, billingSync } from '../../../functions/jobs/billing-sync';
// mulberry32 (deterministic, so a failing run replays from its seed): the test models' own.
import { prng } from '../../../local/models/tiny-chat';
import { billingHarness } from '../../support/billing';
import type { FakeStripe } from '../../support/fake-stripe';
import type { Harness } from '../../support/harness';

/**
 * The billing sync as a walk over many tenants, run after run: each run resumes where the last
 * one stopped and ends before its deadline, one run walks at a time, the grace clock ticks in
 * every run, and nothing is billed twice.
 */

const MARCH = Date.UTC(2026, 2, 1);
/**
 * The billing clock of every run: the first three hours of March (when the tenants' usage was
 * served) have closed. Usage starts with the subscription: a longer quiet backlog would cost each
 * tenant a usage Query per day, which is beside the point here.
 */
const NOW = new Date(MARCH + 4 * 3_600_000);
const HOUR = 3_600_000;

const TARGETS = [
  { model: 'sentiment', version: 'v1', units: ['input_tokens'] as BillingUnit[] },
  { model: 'chat', version: 'tiny-1', units: ['input_tokens', 'output_tokens'] as BillingUnit[] },
];

interface World {
  h: Harness;
  fake: FakeStripe;
  /** tenant id -> its Stripe customer. */
  customers: Map<string, string>;
  events: UsageEvent[];
  /** The tenants seeded past due beyond their grace period. */
  pastDue: Set<string>;
}

async function world(): Promise<World> {
  const { h, fake } = await billingHarness();
  return { h, fake, customers: new Map(), events: [], pastDue: new Set() };
}

/** BatchWriteItem, 25 items a request, `parallel` requests at once, retrying what DynamoDB left unprocessed. */
async function batchPut(doc: DynamoDBDocumentClient, table: string, items: Record<string, unknown>[]) {
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  const parallel = 8;
  let next = 0;
  const worker = async () => {
    for (let batch = batches[next++]; batch; batch = batches[next++]) {
      let requests = batch.map((Item) => ({ PutRequest: { Item } }));
      while (requests.length) {
        const out = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
        requests = (out.UnprocessedItems?.[table] ?? []) as typeof requests;
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/**
 * `n` subscribed tenants written straight into the tables (not signed up through the API: that
 * would take minutes), each with a Stripe customer in the fake, nothing included in its plan (so
 * every unit the ledger has is billable), and usage served in one or two March hours.
 * `pastDue` of them are past due since well beyond the grace period.
 */
async function seed(w: World, n: number, opts: { seed: number; pastDue?: number }): Promise<string[]> {
  const { h, fake } = w;
  const rnd = prng(opts.seed);
  const catalog = await h.deps.resolver.catalog();
  const main: Record<string, unknown>[] = [];
  const usage: Record<string, unknown>[] = [];
  const ids: string[] = [];
  const overdueSince = new Date(
    NOW.getTime() - (h.config.PAST_DUE_GRACE_DAYS + 1) * 86_400_000,
  ).toISOString();
  for (let i = 0; i < n; i++) {
    const pastDue = i < (opts.pastDue ?? 0);
    const tenant: Tenant = {
      id: newId('ten'),
      name: `Walk ${i}`,
      status: pastDue ? 'past_due' : 'active',
      plan: 'payg',
      createdAt: new Date(MARCH - 86_400_000).toISOString(),
      limitOverrides: { included: { input_tokens: 0, output_tokens: 0, images: 0 } },
      ...(pastDue ? { pastDueSince: overdueSince } : {}),
    };
    const customerId = `cus_walk${i}_${tenant.id.slice(-8).toLowerCase()}`;
    fake.customers.set(customerId, {
      id: customerId,
      object: 'customer',
      metadata: { tenant_id: tenant.id },
    });
    w.customers.set(tenant.id, customerId);
    ids.push(tenant.id);
    if (pastDue) w.pastDue.add(tenant.id);
    main.push(tenantPutItems(h.stores.billing.table, tenant)[0]!.Put.Item);
    main.push({
      ...keys.billingAccount(tenant.id),
      type: 'billing_account',
      tenantId: tenant.id,
      customerId,
      subscriptionId: `sub_walk${i}`,
      status: pastDue ? 'past_due' : 'active',
      statusEventAt: 1,
      billedFromMs: MARCH,
      gsi1pk: keys.billingAccountsIndex(),
      gsi1sk: tenant.id,
      updatedAt: new Date(MARCH).toISOString(),
      ...(pastDue ? { pastDueSince: overdueSince } : {}),
    });
    // One hour of usage for most, two for one in ten: one to four meter events a tenant.
    const hours = [Math.floor(rnd() * 2)];
    if (rnd() < 0.1) hours.push(2);
    for (const hour of hours) {
      const target = TARGETS[Math.floor(rnd() * TARGETS.length)]!;
      const at = MARCH + hour * HOUR + Math.floor(rnd() * (HOUR - 1_000));
      const units: UsageEvent['units'] = {};
      for (const u of target.units) units[u] = 1 + Math.floor(rnd() * 500);
      const version = catalog.models.get(target.model)!.versions.get(target.version)!;
      const event: UsageEvent = {
        requestId: newId('req', at),
        tenantId: tenant.id,
        keyId: 'key_walk',
        model: target.model,
        version: target.version,
        units,
        costNanoUsd: costNanoUsd(units, version.prices),
        priceBook: version.priceBook,
        latencyMs: 5,
        status: 'succeeded',
        at: new Date(at).toISOString(),
      };
      w.events.push(event);
      usage.push(usageEventItem(event));
    }
  }
  await batchPut(h.stores.dynamo.doc, h.stores.billing.table, main);
  await batchPut(h.stores.dynamo.doc, tableName(h.config.STAGE, 'usage'), usage);
  return ids.sort();
}

/** The ledger's word: units per (customer, window start in seconds, meter). */
function ledger(w: World): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of w.events) {
    const window = Math.floor(Date.parse(e.at) / HOUR) * (HOUR / 1000);
    for (const [unit, n] of Object.entries(e.units) as [BillingUnit, number][]) {
      const key = `${w.customers.get(e.tenantId)}|${window}|${meterEventName(e.model, e.version, unit)}`;
      out.set(key, (out.get(key) ?? 0) + n);
    }
  }
  return out;
}

/** What Stripe holds, by the same key. */
function received(w: World): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of w.fake.meterEvents.values()) {
    const key = `${e.customer}|${e.timestamp}|${e.event_name}`;
    out.set(key, (out.get(key) ?? 0) + e.value);
  }
  return out;
}

/**
 * Nothing billed twice: each identifier was accepted by exactly one request (any other request with
 * it was refused as a duplicate), and Stripe holds exactly the ledger, window by window.
 */
function expectBilledOnce(w: World) {
  const accepted = new Map<string, number>();
  for (const r of w.fake.requests) {
    if (r.path !== '/v1/billing/meter_events' || r.status !== 200) continue;
    const id = r.body.identifier as string;
    accepted.set(id, (accepted.get(id) ?? 0) + 1);
  }
  expect([...accepted.values()].filter((n) => n !== 1)).toEqual([]);
  expect(accepted.size).toBe(w.fake.meterEvents.size);
  const want = ledger(w);
  const got = received(w);
  const sorted = (m: Map<string, number>) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b));
  expect(got.size).toBe(want.size);
  expect(sorted(got)).toEqual(sorted(want));
}

/**
 * The deps with a spy on which tenants a run reads: each tenant the walk visits, once a visit (and
 * the past-due ones the grace clock reads, which `grace` leaves out).
 */
function spied(d: BillingDeps, visited: string[], grace: Set<string> = new Set()): BillingDeps {
  const tenants = Object.create(d.tenants) as BillingDeps['tenants'];
  tenants.get = (id: string) => {
    if (!grace.has(id)) visited.push(id);
    return d.tenants.get(id);
  };
  return { ...d, tenants };
}

const meterRequests = (w: World) => w.fake.requests.filter((r) => r.path === '/v1/billing/meter_events');

describe('5,000 billed tenants, against a Stripe that takes 20 ms a call', () => {
  let w: World;
  let ids: string[];
  const PAST_DUE = 3;

  beforeAll(async () => {
    w = await world();
    ids = await seed(w, 5_000, { seed: 5_000, pastDue: PAST_DUE });
    w.fake.latencyMs = 20;
  }, 120_000);
  afterAll(async () => {
    await w?.fake.stop();
  });

  it('syncs them over runs that each end before their deadline and resume where the last stopped, billing nothing twice', async () => {
    const DEADLINE = 6_000;
    // A little more kept back than the default: a test machine busy with other work has slow moments.
    const opts: SyncOptions = { concurrency: 16, tenantConcurrency: 16, finishReserveMs: 1_000 };
    const runs: { result: BillingSyncResult; visited: string[] }[] = [];
    const lines: string[] = [];
    for (let run = 1; ; run++) {
      expect(run, 'the walk never completed').toBeLessThanOrEqual(200);
      const visited: string[] = [];
      const deadlineMs = Date.now() + DEADLINE;
      const result = await billingSync(spied(w.h.deps.billing, visited, w.pastDue), NOW, {
        ...opts,
        deadlineMs,
        emit: (l) => lines.push(l),
      });
      // Every run ends before its deadline.
      expect(Date.now(), `run ${run} overran its deadline`).toBeLessThanOrEqual(deadlineMs);
      runs.push({ result, visited });
      if (result.complete) break;
      expect(result).toMatchObject({ stopped: 'deadline', problems: [] });
      // Where it stopped is saved in the walk's item.
      expect((await w.h.stores.billing.getWalk())?.after).toBe(result.cursor);
    }

    // It took several runs; each resumed after the tenant the previous one stopped at, and moved on.
    expect(runs.length).toBeGreaterThan(1);
    for (let i = 1; i < runs.length; i++) {
      const before = runs[i - 1]!.result.cursor;
      expect(runs[i]!.visited.length).toBeGreaterThan(0);
      expect(
        runs[i]!.visited.every((id) => id > before),
        `run ${i + 1} went back before ${before}`,
      ).toBe(true);
      expect(runs[i]!.visited.sort()[0]).toBe(ids[ids.indexOf(before) + 1]);
      if (i < runs.length - 1) expect(runs[i]!.result.cursor > before).toBe(true);
    }
    // Every tenant was reached; the walk is back at the start for the next one.
    expect(new Set(runs.flatMap((r) => r.visited))).toEqual(new Set(ids.filter((id) => !w.pastDue.has(id))));
    expect(runs.at(-1)!.result).toMatchObject({ complete: true, cursor: '', stopped: null, lagMinutes: 0 });
    expect((await w.h.stores.billing.getWalk())?.after).toBe('');

    // The grace clock ticked from the first run on, while the walk was far from its end.
    expect(runs[0]!.result.suspended.length).toBeGreaterThan(0);
    const suspended = runs.slice(0, -1).flatMap((r) => r.result.suspended);
    expect(suspended).toHaveLength(PAST_DUE);
    for (const id of suspended) expect((await w.h.stores.billing.getAccount(id))?.status).toBe('suspended');
    // Every run reported its lag.
    expect(lines.filter((l) => 'BillingSyncLagMinutes' in JSON.parse(l))).toHaveLength(runs.length);
    expect(lines.filter((l) => 'BillingSyncFailures' in JSON.parse(l))).toEqual([]);

    expectBilledOnce(w);
    // A rerun after the walk completed sends nothing.
    const sent = meterRequests(w).length;
    const again = await billingSync(w.h.deps.billing, NOW, { ...opts, emit: () => {} });
    expect(again).toMatchObject({ complete: true, events: 0, windows: 0 });
    expect(meterRequests(w).length).toBe(sent);
    // Far beyond the api project's 30 s default: each tenant's visit reads its usage with one
    // Query per usage shard (17), and DynamoDB Local answers about 850 Queries a second on a
    // 2-core machine, where the walk took about 2.5 minutes when quiet and 3.5 when busy (25 to
    // 40 runs of 6 s).
  }, 480_000);
});

/**
 * Each test below builds its own world (tables, a fake Stripe, up to 300 tenants) and walks it at
 * 20 ms a Stripe call: longer than the api project's 30 s default on a busy machine.
 */
const SMALL_WORLD_MS = 120_000;

describe('runs of the walk', () => {
  const worlds: World[] = [];
  const fresh = async (n: number, opts: { seed: number; pastDue?: number }) => {
    const w = await world();
    worlds.push(w);
    const ids = await seed(w, n, opts);
    w.fake.latencyMs = 20;
    return { w, ids };
  };
  afterAll(async () => {
    for (const w of worlds) await w.fake.stop();
  });

  it(
    'stops early at a 2 s deadline, with where it stopped saved; the next run resumes there',
    async () => {
      const { w, ids } = await fresh(300, { seed: 2 });
      const deadlineMs = Date.now() + 2_000;
      // One Stripe call at a time: 300 tenants take several seconds, however fast the machine.
      const first = await billingSync(w.h.deps.billing, NOW, { deadlineMs, concurrency: 1, emit: () => {} });
      expect(Date.now()).toBeLessThanOrEqual(deadlineMs);
      expect(first).toMatchObject({ complete: false, stopped: 'deadline', problems: [] });
      expect(ids).toContain(first.cursor);
      expect(first.cursor).not.toBe(ids.at(-1));
      const walk = await w.h.stores.billing.getWalk();
      expect(walk).toMatchObject({ after: first.cursor, leaseHolder: null });
      // The tenants up to the cursor are synced; the next run starts after it and finishes.
      const visited: string[] = [];
      const second = await billingSync(spied(w.h.deps.billing, visited), NOW, { emit: () => {} });
      expect(second).toMatchObject({ complete: true, cursor: '' });
      expect(visited.sort()[0]).toBe(ids[ids.indexOf(first.cursor) + 1]);
      expectBilledOnce(w);
    },
    SMALL_WORLD_MS,
  );

  it(
    'lets one run walk at a time: an overlapping run finds the walk leased and bills nothing',
    async () => {
      const { w } = await fresh(40, { seed: 3 });
      const [a, b] = await Promise.all([
        billingSync(w.h.deps.billing, NOW, { emit: () => {} }),
        billingSync(w.h.deps.billing, NOW, { emit: () => {} }),
      ]);
      const [walker, other] = a.stopped === 'leased' ? [b, a] : [a, b];
      expect(other).toMatchObject({ stopped: 'leased', complete: false, tenants: 0, events: 0 });
      expect(walker).toMatchObject({ complete: true, stopped: null });
      expectBilledOnce(w);
    },
    SMALL_WORLD_MS,
  );

  it(
    'bills nothing twice when two runs walk at once anyway (a run that outlived its lease)',
    async () => {
      const { w } = await fresh(40, { seed: 4 });
      const late = () => Date.now() + 3_600_000;
      const lines: string[] = [];
      // The second run's clock is an hour ahead: to it, the first run's lease has expired, so both
      // walk the same tenants at the same time.
      const first = billingSync(w.h.deps.billing, NOW, { runId: 'first', emit: (l) => lines.push(l) });
      // The second starts once the first holds the walk.
      for (let i = 0; (await w.h.stores.billing.getWalk())?.leaseHolder !== 'first'; i++) {
        expect(i, 'the first run never took the walk').toBeLessThan(2_000);
        await new Promise((r) => setTimeout(r, 5));
      }
      const second = billingSync(w.h.deps.billing, NOW, {
        runId: 'second',
        clock: late,
        emit: (l) => lines.push(l),
      });
      const [a, b] = await Promise.all([first, second]);
      expect(a.stopped).not.toBe('leased');
      expect(b.stopped).not.toBe('leased');
      // They met on the same windows: the tenants' cursors refused one (raced), or Stripe refused a
      // resent identifier.
      const raced = [...a.problems, ...b.problems].filter((p) => p.reason === 'raced').length;
      const refused = meterRequests(w).filter((r) => r.status === 400).length;
      expect(raced + refused).toBeGreaterThan(0);
      // A raced tenant is no failure.
      expect(lines.filter((l) => 'BillingSyncFailures' in JSON.parse(l))).toEqual([]);
      // Whatever either left behind, a later run finishes; Stripe holds the ledger exactly once.
      const after = await billingSync(w.h.deps.billing, NOW, { clock: late, emit: () => {} });
      expect(after.complete).toBe(true);
      expectBilledOnce(w);
      const sent = meterRequests(w).length;
      expect((await billingSync(w.h.deps.billing, NOW, { clock: late, emit: () => {} })).events).toBe(0);
      expect(meterRequests(w).length).toBe(sent);
    },
    SMALL_WORLD_MS,
  );

  it(
    'ticks the grace clock while another run holds the walk, and takes the walk over once a crashed holder’s lease expires',
    async () => {
      const { w } = await fresh(20, { seed: 5, pastDue: 2 });
      // A run that crashed while holding the walk: its lease runs for another minute.
      await w.h.stores.dynamo.doc.send(
        new UpdateCommand({
          TableName: w.h.stores.billing.table,
          Key: keys.billingSyncWalk(),
          UpdateExpression: 'SET #type = :t, leaseHolder = :h, leaseUntilMs = :u, #after = :a',
          ExpressionAttributeNames: { '#type': 'type', '#after': 'after' },
          ExpressionAttributeValues: {
            ':t': 'billing_sync_walk',
            ':h': 'crashed',
            ':u': Date.now() + 60_000,
            ':a': '',
          },
        }),
      );
      const blocked = await billingSync(w.h.deps.billing, NOW, { emit: () => {} });
      expect(blocked).toMatchObject({ stopped: 'leased', events: 0 });
      expect(new Set(blocked.suspended)).toEqual(w.pastDue);
      expect(blocked.suspended).toHaveLength(2);
      expect(meterRequests(w)).toHaveLength(0);
      // A minute later (on the lease's clock) the crashed run's lease has expired.
      const later = await billingSync(w.h.deps.billing, NOW, {
        clock: () => Date.now() + 61_000,
        emit: () => {},
      });
      expect(later).toMatchObject({ complete: true, stopped: null });
      expectBilledOnce(w);
    },
    SMALL_WORLD_MS,
  );

  it(
    'ticks the grace clock in a run whose sync throws, and reports the failure',
    async () => {
      const { w, ids } = await fresh(10, { seed: 6, pastDue: 1 });
      const pastDue = (
        await Promise.all(
          ids.map(async (id) => ((await w.h.stores.billing.getAccount(id))?.status === 'past_due' ? id : '')),
        )
      ).filter(Boolean);
      expect(pastDue).toHaveLength(1);
      const lines: string[] = [];
      class Crash extends Error {}
      await expect(
        billingSync(w.h.deps.billing, NOW, {
          afterAccepted: () => {
            throw new Crash('the sync died');
          },
          emit: (l) => lines.push(l),
        }),
      ).rejects.toBeInstanceOf(Crash);
      expect((await w.h.stores.billing.getAccount(pastDue[0]!))?.status).toBe('suspended');
      expect((await w.h.stores.tenants.get(pastDue[0]!))?.status).toBe('suspended');
      expect(lines.map((l) => JSON.parse(l))).toContainEqual(
        expect.objectContaining({ BillingSyncFailures: 1 }),
      );
      // The crashed run gave the walk back: the next run carries on and bills everything once.
      expect((await w.h.stores.billing.getWalk())?.leaseHolder).toBeNull();
      const next = await billingSync(w.h.deps.billing, NOW, { emit: () => {} });
      expect(next.complete).toBe(true);
      expectBilledOnce(w);
    },
    SMALL_WORLD_MS,
  );
});
