import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { GroupCommit } from '../db/group-commit';
import { keys } from '../db/keys';
import { shardOf } from '../db/shard';
import { type TransactItem, transact } from '../db/transact';
import { type UsageEvent, usageEventItems } from '../metering/usage-store';
import { type CounterTarget, counterDeltaItems, minus, zero } from './counter-deltas';
import { type GrantScope, grantItems } from './grant-items';
import { billingUnits } from './plans';
import { type Actual, type Amount, RESERVATION_SHARDS, type Refusal } from './quota-types';
import { windowsAt } from './windows';

const DAY_S = 86_400;

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
 * overshot by leasing; it records in itself what its requests settled (in the settlement's own
 * transaction), so what it did not use can be given back exactly, by the instance or, past its
 * expiry, by the sweeper.
 */
export class LeaseStore {
  private readonly group: GroupCommit;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly mainTable: string,
    private readonly usageTable: string,
  ) {
    this.group = new GroupCommit(doc);
  }

  /** Opens a lease with `amount`, or extends it (when `extend`): one transaction either way. */
  async grant(
    scope: GrantScope,
    lease: { leaseId: string; expiresAt: string; extend: boolean },
    amount: Amount,
  ): Promise<GrantResult> {
    const grants = grantItems(this.mainTable, scope, amount);
    const w = windowsAt(scope.now);
    const key = keys.reservation(scope.tenantId, lease.leaseId);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const addParts = adds('g', amount, names, values);
    const timing = {
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
          UpdateExpression: `SET expiresAt = :exp, gsi1sk = :gsk, #ttl = :ttl ADD ${addParts.join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { ...names, '#ttl': 'ttl' },
          ExpressionAttributeValues: { ...values, ...timing },
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
        ...scope.flags,
      };
      for (const [n, v] of Object.entries(values)) item[n.slice(1)] = v;
      for (const f of FIELDS) item[`s_${f}`] = 0;
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
   * Writes a request's usage event and aggregates and adds its actual use to the lease's settled
   * amounts, in one transaction. If the lease is gone (swept: the request outlived it), the use is
   * counted in full on the counters instead, still with the event. `duplicate` if the request id
   * was already recorded (nothing changes).
   */
  async settle(lease: LeaseRef, actual: Actual, event: UsageEvent): Promise<'recorded' | 'duplicate'> {
    const used: Amount = { ...actual, requests: 1, slots: 0 };
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const parts = adds('s', used, names, values);
    const eventItems = usageEventItems(this.usageTable, event);
    const items: TransactItem[] = [
      ...eventItems,
      {
        Update: {
          TableName: this.mainTable,
          Key: keys.reservation(lease.tenantId, lease.leaseId),
          UpdateExpression: `ADD ${parts.join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        },
      },
    ];
    // Under load, with the settlements of other requests in one transaction; a failed batch (a
    // duplicate in it, a lease gone) lets each member settle alone below, where its own conditions speak.
    if ((await this.group.submit(items)) === 'committed') return 'recorded';
    const result = await transact(this.doc, items);
    if (result.ok) return 'recorded';
    if (result.reasons[0]?.Code === 'ConditionalCheckFailed') return 'duplicate';
    const unleased = await transact(this.doc, [
      ...counterDeltaItems(this.mainTable, lease, { ...used, requests: 0 }),
      ...eventItems,
    ]);
    return unleased.ok ? 'recorded' : 'duplicate';
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
   * Gives back what a lease was granted and did not settle, and deletes it, in one transaction
   * conditional on the settled amount read (a settlement racing in retries the read). With
   * `expiredBefore`, only a lease whose expiry has passed (the sweeper). False if there is nothing
   * to give back (already given back, or not expired). `failed`: requests the instance admitted
   * that failed, whose request count is kept (the sweeper cannot know them: it gives them back).
   */
  async giveBack(
    tenantId: string,
    leaseId: string,
    opts: { expiredBefore?: Date; now?: Date; failed?: number } = {},
  ): Promise<boolean> {
    const key = keys.reservation(tenantId, leaseId);
    for (let attempt = 0; attempt < 5; attempt++) {
      const out = await this.doc.send(
        new GetCommand({ TableName: this.mainTable, Key: key, ConsistentRead: true }),
      );
      const item = out.Item as LeaseItem | undefined;
      if (!item) return false;
      if (opts.expiredBefore && item.expiresAt >= opts.expiredBefore.toISOString()) return false;
      const unused = minus(amountOf(item, 'g'), amountOf(item, 's'));
      // Requests that failed still count against the minute, as a released reservation's do.
      unused.requests = Math.max(0, unused.requests - (opts.failed ?? 0));
      // A minute window that has ended is not given back to: its counter is gone or soon will be.
      const current = windowsAt(opts.now ?? opts.expiredBefore ?? new Date()).minute === item.minute;
      const target = {
        ...item,
        tenantMinute: item.tenantMinute && current,
        keyMinute: item.keyMinute && current,
      };
      const result = await transact(this.doc, [
        {
          Delete: {
            TableName: this.mainTable,
            Key: key,
            // Slots returned early (`returnSlots`) between the read and here are not returned twice.
            ConditionExpression: 's_requests = :sr AND expiresAt = :exp AND g_slots = :gs',
            ExpressionAttributeValues: {
              ':sr': item.s_requests ?? 0,
              ':exp': item.expiresAt,
              ':gs': item.g_slots ?? 0,
            },
          },
        },
        ...counterDeltaItems(this.mainTable, target, minus(zero(), unused)),
      ]);
      if (result.ok) return true;
    }
    throw new Error(`lease ${leaseId} kept changing while being given back`);
  }
}
