import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../db/keys';
import { shardOf } from '../db/shard';
import { type TransactItem, transact } from '../db/transact';
import { type UsageEvent, UsageStore } from '../metering/usage-store';
import { type CounterTarget, counterDeltaItems, minus, plus, zero } from './counter-deltas';
import { type GrantScope, grantItems } from './grant-items';
import { billingUnits } from './plans';
import { type Actual, type Amount, RESERVATION_SHARDS, type Refusal } from './quota-types';
import { windowsAt } from './windows';

const DAY_S = 86_400;
/** A request settling this close to its lease's expiry is recorded as if unleased (see `settle`). */
const LATE_MARGIN_MS = 5_000;
/** Request ids are made at a request's start, a little before its lease may be. */
const RECORD_MARGIN_MS = 15 * 60_000;

/** A lease as stored: where its counters are, and what it was granted and has settled (flat numbers). */
export type LeaseItem = CounterTarget & {
  kind: 'lease';
  leaseId: string;
  expiresAt: string;
} & Record<string, unknown>;

/** What an instance needs to write against its lease. */
export interface LeaseRef extends CounterTarget {
  leaseId: string;
}

export type GrantResult = { ok: true } | Refusal | { ok: false; gone: true };

const FIELDS = ['requests', 'slots', 'tokens', 'costNanoUsd', ...billingUnits] as const;

/** The item's granted (`g`) or settled (`s`) amount. */
export function amountOf(item: Record<string, unknown>, side: 'g' | 's'): Amount {
  const n = (f: string) => Number(item[`${side}_${f}`] ?? 0);
  const units: Amount['units'] = {};
  for (const u of billingUnits) units[u] = n(u);
  return {
    requests: n('requests'),
    slots: n('slots'),
    tokens: n('tokens'),
    costNanoUsd: n('costNanoUsd'),
    units,
  };
}

function adds(side: 'g' | 's', a: Amount, names: Record<string, string>, values: Record<string, unknown>) {
  const parts: string[] = [];
  for (const f of FIELDS) {
    const v =
      f === 'requests' || f === 'slots' || f === 'tokens' || f === 'costNanoUsd' ? a[f] : (a.units[f] ?? 0);
    names[`#${side}_${f}`] = `${side}_${f}`;
    values[`:${side}_${f}`] = v;
    parts.push(`#${side}_${f} :${side}_${f}`);
  }
  return parts;
}

/**
 * Leases in DynamoDB. A lease is a reservation for a block of capacity (N requests, their tokens,
 * units, cost and in-flight slots) that one API instance admits requests from in memory. It is
 * granted by the same conditional counter updates as a single reservation, so no limit can be
 * overshot by leasing. Its requests write only their usage records (naming the lease), so what it
 * did not use can be given back exactly: by its instance, which counted them, or, once the lease
 * has expired (its instance frozen or dead), by whoever reclaims it, from those records.
 */
export class LeaseStore {
  private readonly usage: UsageStore;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly mainTable: string,
    usageTable: string,
  ) {
    this.usage = new UsageStore(doc, usageTable);
  }

  /** Opens a lease with `amount`, or extends it (when `extend`): one transaction either way. */
  async grant(
    scope: GrantScope,
    lease: { leaseId: string; expiresAt: string; extend: boolean; slotsUntil?: number },
    amount: Amount,
  ): Promise<GrantResult> {
    const grants = grantItems(this.mainTable, scope, amount);
    const w = windowsAt(scope.now);
    const key = keys.reservation(scope.tenantId, lease.leaseId);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const addParts = adds('g', amount, names, values);
    const timing: Record<string, unknown> = {
      ':exp': lease.expiresAt,
      ':gsk': `${lease.expiresAt}#${lease.leaseId}`,
      ':ttl': Math.floor(Date.parse(lease.expiresAt) / 1000) + DAY_S,
    };
    let last: TransactItem;
    if (lease.extend) {
      last = {
        Update: {
          TableName: this.mainTable,
          Key: key,
          UpdateExpression: `SET expiresAt = :exp, gsi1sk = :gsk, #ttl = :ttl${lease.slotsUntil !== undefined ? ', slotsUntil = :su' : ''} ADD ${addParts.join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { ...names, '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ...values,
            ...timing,
            ...(lease.slotsUntil !== undefined ? { ':su': lease.slotsUntil } : {}),
          },
        },
      };
    } else {
      const item: Record<string, unknown> = {
        ...key,
        type: 'reservation',
        kind: 'lease',
        gsi1pk: keys.reservationIndex(shardOf(lease.leaseId, RESERVATION_SHARDS)),
        gsi1sk: timing[':gsk'],
        ttl: timing[':ttl'],
        tenantId: scope.tenantId,
        keyId: scope.keyId,
        leaseId: lease.leaseId,
        requestId: lease.leaseId,
        minute: w.minute,
        month: w.month,
        expiresAt: lease.expiresAt,
        createdAt: scope.now.getTime(),
        ...(lease.slotsUntil !== undefined ? { slotsUntil: lease.slotsUntil } : {}),
        ...scope.flags,
      };
      for (const [n, v] of Object.entries(values)) item[n.slice(1)] = v;
      last = {
        Put: { TableName: this.mainTable, Item: item, ConditionExpression: 'attribute_not_exists(pk)' },
      };
    }
    const result = await transact(this.doc, [...grants.map((g) => g.item), last]);
    if (result.ok) return { ok: true };
    const failed = result.reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
    if (failed === grants.length) return { ok: false, gone: true };
    return grants[failed]!.on(result.reasons[failed]?.Item);
  }

  /**
   * Records a request admitted from a lease: one conditional PutItem of its usage record, which
   * names the lease (nothing else is written: what the lease's requests used is known to its
   * instance, and to the sweeper from these records). A request settling so late that its lease
   * may already have been given back (past `expiresAt` less a margin) is recorded without the lease
   * and its use added to the counters itself. `duplicate` if the request id was already recorded.
   */
  async settle(
    lease: LeaseRef,
    actual: Actual,
    event: UsageEvent,
    at: { now: Date; expiresAt: string },
  ): Promise<'recorded' | 'duplicate'> {
    if (at.now.getTime() < Date.parse(at.expiresAt) - LATE_MARGIN_MS) {
      return this.usage.record({ ...event, leaseId: lease.leaseId });
    }
    const out = await this.usage.record(event);
    if (out === 'recorded') {
      await transact(
        this.doc,
        counterDeltaItems(this.mainTable, lease, { ...actual, requests: 0, slots: 0 }),
      );
    }
    return out;
  }

  /**
   * Keeps a lease's slots held until `slotsUntil`: what its instance does while requests run.
   * False if the lease no longer holds the slots its instance thinks (reclaimed, or gone).
   */
  async renewSlots(lease: LeaseRef, slotsUntil: number, slots: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.mainTable,
          Key: keys.reservation(lease.tenantId, lease.leaseId),
          UpdateExpression: 'SET slotsUntil = :su',
          ConditionExpression: 'attribute_exists(pk) AND g_slots = :g',
          ExpressionAttributeValues: { ':su': slotsUntil, ':g': slots },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  /**
   * Frees the in-flight slots of this tenant's leases whose instances stopped renewing them
   * (`slotsUntil` passed: the instance is frozen with nothing in flight, or dead), for an
   * instance that needs one. Each in one transaction conditional on the lease as read. Returns
   * how many slots came free.
   */
  async reclaimSlots(tenantId: string, now: number): Promise<number> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.mainTable,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        ExpressionAttributeValues: { ':pk': keys.quotaInFlight(tenantId).pk, ':p': keys.reservationPrefix() },
        ConsistentRead: true,
      }),
    );
    let freed = 0;
    for (const item of out.Items ?? []) {
      const slots = Number(item.g_slots ?? 0);
      const until = item.slotsUntil as number | undefined;
      if (item.kind !== 'lease' || slots <= 0 || until === undefined || until >= now) continue;
      const result = await transact(this.doc, [
        {
          Update: {
            TableName: this.mainTable,
            Key: keys.reservation(tenantId, item.leaseId as string),
            UpdateExpression: 'SET g_slots = :zero',
            ConditionExpression: 'slotsUntil = :su AND g_slots = :g',
            ExpressionAttributeValues: { ':zero': 0, ':su': until, ':g': slots },
          },
        },
        {
          Update: {
            TableName: this.mainTable,
            Key: keys.quotaInFlight(tenantId),
            UpdateExpression: 'ADD inflight :neg',
            ExpressionAttributeValues: { ':neg': -slots },
          },
        },
      ]);
      if (result.ok) freed += slots;
    }
    return freed;
  }

  /**
   * Gives back `n` in-flight slots of a lease that admits no more (its minute ended, its limits
   * changed) while some of its requests still run: the slots they do not hold are free at once,
   * not when the last of them ends. One transaction, conditional on the lease still holding them.
   */
  async returnSlots(lease: LeaseRef, n: number): Promise<boolean> {
    if (n <= 0 || !lease.inFlight) return false;
    const result = await transact(this.doc, [
      {
        Update: {
          TableName: this.mainTable,
          Key: keys.reservation(lease.tenantId, lease.leaseId),
          UpdateExpression: 'ADD g_slots :neg',
          ConditionExpression: 'g_slots >= :n',
          ExpressionAttributeValues: { ':neg': -n, ':n': n },
        },
      },
      ...counterDeltaItems(this.mainTable, lease, { ...zero(), slots: -n }),
    ]);
    return result.ok;
  }

  /**
   * Gives back what a lease was granted and its requests did not use, and deletes it, in one
   * transaction conditional on the lease as read (a refill or an early slot return racing in
   * retries the read). Its instance passes `used` (it counted its requests in memory); the sweeper,
   * for a lease whose instance froze or died (`expiredBefore`: only past its expiry), sums the
   * lease's usage records instead. False if there is nothing to give back (already given back, or
   * not expired).
   */
  async giveBack(
    tenantId: string,
    leaseId: string,
    opts: { expiredBefore?: Date; now?: Date; used?: Amount } = {},
  ): Promise<boolean> {
    const key = keys.reservation(tenantId, leaseId);
    for (let attempt = 0; attempt < 5; attempt++) {
      const out = await this.doc.send(
        new GetCommand({ TableName: this.mainTable, Key: key, ConsistentRead: true }),
      );
      const item = out.Item as LeaseItem | undefined;
      if (!item) return false;
      if (opts.expiredBefore && item.expiresAt >= opts.expiredBefore.toISOString()) return false;
      const used = opts.used ?? (await this.usedByRecords(item));
      const unused = minus(amountOf(item, 'g'), used);
      unused.requests = Math.max(0, unused.requests);
      // A minute window that has ended is not given back to: its counter is gone or soon will be.
      const current = windowsAt(opts.now ?? opts.expiredBefore ?? new Date()).minute === item.minute;
      const target = {
        ...item,
        tenantMinute: item.tenantMinute && current,
        keyMinute: item.keyMinute && current,
        projectMinute: item.projectMinute === true && current,
      };
      const result = await transact(this.doc, [
        {
          Delete: {
            TableName: this.mainTable,
            Key: key,
            // Slots returned early (`returnSlots`) between the read and here are not returned twice.
            ConditionExpression: 'expiresAt = :exp AND g_slots = :gs AND g_requests = :gr',
            ExpressionAttributeValues: {
              ':exp': item.expiresAt,
              ':gs': item.g_slots ?? 0,
              ':gr': item.g_requests ?? 0,
            },
          },
        },
        ...counterDeltaItems(this.mainTable, target, minus(zero(), unused)),
      ]);
      if (result.ok) return true;
    }
    throw new Error(`lease ${leaseId} kept changing while being given back`);
  }

  /**
   * What a lease's requests used, from their usage records (strongly consistent): billed ones
   * their use, open streams their allowance, void ones only their request. The records of a lease
   * start after it was made and are written before it expires.
   */
  private async usedByRecords(item: LeaseItem): Promise<Amount> {
    const from = Number(item.createdAt ?? Date.parse(item.expiresAt) - 3_600_000) - RECORD_MARGIN_MS;
    const to = Math.max(Date.parse(item.expiresAt), Date.now()) + RECORD_MARGIN_MS;
    const records = await this.usage.listEvents(
      item.tenantId,
      { from, to },
      { all: true, leaseId: item.leaseId },
    );
    let used = zero();
    for (const r of records) {
      const units = r.status === 'void' ? {} : r.units;
      const tokens = (units.input_tokens ?? 0) + (units.output_tokens ?? 0);
      used = plus(used, {
        requests: 1,
        slots: 0,
        tokens,
        units,
        costNanoUsd: r.status === 'void' ? 0 : r.costNanoUsd,
      });
    }
    return used;
  }
}
