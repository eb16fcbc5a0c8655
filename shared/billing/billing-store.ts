import {
  type DynamoDBDocumentClient,
  PutCommand,
  paginateQuery,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { BillingUnit } from '../catalog/types';
import { conditionHeld, isConditionalFailure } from '../db/conditions';
import { entity, fieldsOf } from '../db/entity';
import { keys } from '../db/keys';
import { queryAll } from '../db/query';
import { type TransactItem, transact } from '../db/transact';
import type { Units } from '../metering/pricing';
import type { BillingStatus } from './billing';

/** A tenant's standing with the payment provider. */
export interface BillingAccount {
  tenantId: string;
  customerId: string | null;
  subscriptionId: string | null;
  status: BillingStatus;
  pastDueSince: string | null;
  /** The provider's `created` (seconds) of the newest event that set the status; older events are stale. */
  statusEventAt: number;
  /** Suspended for non-payment (not by an operator): a payment reactivates the tenant. */
  suspendedByBilling: boolean;
  /** Usage from this instant (ms) on goes to the provider; null before the first subscription. */
  billedFromMs: number | null;
  /** Usage before this instant (ms) goes to the provider; set when the subscription ended. */
  billedUntilMs: number | null;
  /** The paid plan the subscription bills under (its metadata), as last known; null before one. */
  plan: string | null;
  /** The subscription ends at its period's end (a downgrade to free, or cancelled in the portal). */
  cancelAtPeriodEnd: boolean;
  /** When the subscription's plan was last chosen (ms, our clock): older plan states are stale. */
  planChangedAt: number;
  /** The provider's `created` (seconds) of the newest event that set the plan state. */
  planEventAt: number;
  updatedAt: string;
}

/** Where the meter sync stands for one tenant. */
export interface SyncState {
  tenantId: string;
  /** Usage before this instant (ms) is in the provider. Always the start of the next window. */
  cursorMs: number;
  /** The calendar month (`2026-11`) `includedUsed` counts in; '' when not yet known. */
  month: string;
  /** Units the tenant used this month before the cursor (they consume the plan's included units first). */
  includedUsed: Units;
  /** Meters of the window at the cursor whose event the provider already accepted. */
  sent: string[];
}

/**
 * The meter sync's walk over the tenants (in tenant id order), kept across runs in one item of its
 * own, with the lease that lets one run at a time walk.
 */
export interface SyncWalk {
  /** The last tenant the walk finished: the next run resumes after it. '' at the start of a walk. */
  after: string;
  /** When the current walk started (the sync's clock, ms); null before the first run. */
  startedAtMs: number | null;
  /**
   * The earliest close (ms) of a window still unsent by a tenant this walk already passed (one it
   * left behind: a problem, or more backlog than one visit takes); null when it left none.
   */
  behindSinceMs: number | null;
  /**
   * Every usage window that closed before this instant (ms) is in the provider: set by the last
   * complete walk (its start, or earlier when it left a tenant behind); null before the first.
   */
  syncedBeforeMs: number | null;
  /** When the last complete walk ended (the sync's clock, ms); null before the first. */
  completedAtMs: number | null;
  /** The run that holds the walk, until `leaseUntilMs` (wall clock); null when free. */
  leaseHolder: string | null;
  leaseUntilMs: number;
}

/** What a run writes back to the walk (fields left undefined are kept; null removes). */
export type SyncWalkChange = Partial<
  Pick<SyncWalk, 'after' | 'startedAtMs' | 'behindSinceMs' | 'syncedBeforeMs' | 'completedAtMs'>
>;

/** The provider objects of one model version's unit, as `billing:setup` recorded them. */
export interface PriceRecord {
  model: string;
  version: string;
  unit: BillingUnit;
  /** `batch` for the meter and price of batch lines; absent for online ones (as before batches). */
  channel?: 'batch';
  eventName: string;
  displayName: string;
  meterId: string;
  productId: string;
  priceId: string;
  lookupKey: string;
  unitAmountDecimal: string;
  priceBook: string;
  updatedAt: string;
}

export type AttachCustomerResult = { status: 'attached' } | { status: 'taken'; existing: string };

/** A tenant's billing account, in gsi1 `BILLING_ACCOUNTS` once it has a customer. */
const accountEntity = entity({ type: 'billing_account', key: keys.billingAccount, from: toAccount });

/** The meter sync's cursor for a tenant. */
const syncEntity = entity({
  type: 'billing_sync',
  key: keys.billingSync,
  from: (i): SyncState => ({
    tenantId: i.tenantId as string,
    cursorMs: Number(i.cursorMs),
    month: (i.month as string) ?? '',
    includedUsed: (i.includedUsed as Units) ?? {},
    sent: [...((i.sent as Set<string> | undefined) ?? [])],
  }),
});

const optionalNumber = (v: unknown): number | null => (v === undefined || v === null ? null : Number(v));

/** The meter sync's walk over the tenants, and its lease. */
const walkEntity = entity({
  type: 'billing_sync_walk',
  key: keys.billingSyncWalk,
  from: (i): SyncWalk => ({
    after: (i.after as string | undefined) ?? '',
    startedAtMs: optionalNumber(i.startedAtMs),
    behindSinceMs: optionalNumber(i.behindSinceMs),
    syncedBeforeMs: optionalNumber(i.syncedBeforeMs),
    completedAtMs: optionalNumber(i.completedAtMs),
    leaseHolder: (i.leaseHolder as string | undefined) ?? null,
    leaseUntilMs: Number(i.leaseUntilMs ?? 0),
  }),
});

/** A processed webhook event: the conditional put on its key is what makes it once-only. */
const stripeEventEntity = entity({
  type: 'stripe_event',
  key: keys.stripeEvent,
  from: (i) => ({ eventId: i.eventId as string, outcome: i.outcome as string }),
});

/** Which tenant a provider customer is. */
const stripeCustomerEntity = entity({
  type: 'stripe_customer',
  key: keys.stripeCustomer,
  from: (i) => i.tenantId as string,
});

/** The provider objects of one model version's unit. */
const priceEntity = entity({
  type: 'billing_price',
  key: keys.billingPrice,
  from: (i) => fieldsOf(i) as unknown as PriceRecord,
});

/**
 * Billing state in the `main` table: billing accounts (under their tenant, listed in gsi1
 * `BILLING_ACCOUNTS`), meter-sync cursors, processed webhook events, the customer -> tenant
 * lookup, and the price map `billing:setup` writes.
 */

/**
 * An update's parts for a partial change: each field set to its value, `null` removes it,
 * `undefined` leaves it alone. Appends to what the caller already has.
 */
function addFieldChanges(
  change: Record<string, unknown>,
  into: { names: Record<string, string>; values: Record<string, unknown>; sets: string[]; removes: string[] },
): void {
  for (const [field, value] of Object.entries(change)) {
    if (value === undefined) continue;
    into.names[`#f_${field}`] = field;
    if (value === null) into.removes.push(`#f_${field}`);
    else {
      into.sets.push(`#f_${field} = :f_${field}`);
      into.values[`:f_${field}`] = value;
    }
  }
}

export class BillingStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
  ) {}

  /** One transaction on the main table (status changes span the account, tenant and audit log). */
  transact(items: TransactItem[]) {
    return transact(this.doc, items);
  }

  async getAccount(tenantId: string): Promise<BillingAccount | undefined> {
    return accountEntity.get(this.doc, this.table, accountEntity.key(tenantId), { consistent: true });
  }

  /** Every billing account (those that ever had a customer), every page read. */
  async listAccounts(): Promise<BillingAccount[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :p',
      ExpressionAttributeValues: { ':p': keys.billingAccountsIndex() },
    });
    return items.map(accountEntity.from);
  }

  /**
   * Past-due billing accounts (what the grace clock looks at), page by page as they are read: the
   * list of accounts, filtered by DynamoDB (which still reads every account, about 1,000 a page).
   */
  async *pastDue(): AsyncGenerator<BillingAccount[]> {
    for await (const page of paginateQuery(
      { client: this.doc, pageSize: 1_000 },
      {
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        FilterExpression: '#status = :pd',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':p': keys.billingAccountsIndex(), ':pd': 'past_due' },
      },
    )) {
      yield (page.Items ?? []).map(accountEntity.from);
    }
  }

  /**
   * Up to `limit` billing accounts after tenant `after` ('' for the first), in tenant id order:
   * one page of the meter sync's walk. `more` is false on the last page.
   */
  async accountsAfter(after: string, limit: number): Promise<{ accounts: BillingAccount[]; more: boolean }> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'gsi1',
        // An empty string cannot be a key condition's value: the first page has no lower bound.
        KeyConditionExpression: after ? 'gsi1pk = :p AND gsi1sk > :a' : 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': keys.billingAccountsIndex(), ...(after ? { ':a': after } : {}) },
        Limit: limit,
      }),
    );
    return { accounts: (out.Items ?? []).map(accountEntity.from), more: out.LastEvaluatedKey !== undefined };
  }

  /** Where the walk stands (a strongly consistent read). */
  async getWalk(): Promise<SyncWalk | undefined> {
    return walkEntity.get(this.doc, this.table, walkEntity.key(), { consistent: true });
  }

  /**
   * Takes the walk's lease for run `holder` until `untilMs` (wall clock): granted when nobody holds
   * it, its holder's time ran out (a run that crashed holds it no longer than that), or `holder`
   * holds it already. Gives the walk as it now stands; undefined when another run holds it.
   */
  async leaseWalk(holder: string, untilMs: number, nowMs: number): Promise<SyncWalk | undefined> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: walkEntity.key(),
          UpdateExpression: 'SET #type = :type, leaseHolder = :h, leaseUntilMs = :until',
          ConditionExpression:
            'attribute_not_exists(leaseUntilMs) OR leaseUntilMs < :now OR leaseHolder = :h',
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: {
            ':type': walkEntity.type,
            ':h': holder,
            ':until': untilMs,
            ':now': nowMs,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return walkEntity.from(out.Attributes ?? {});
    } catch (err) {
      if (isConditionalFailure(err)) return undefined;
      throw err;
    }
  }

  /**
   * Writes where the walk stands, only while `holder` still holds the lease (a run that outlived
   * its lease cannot move the walk under the run that took it over); `release` gives the lease
   * up. False when `holder` no longer holds it.
   */
  async saveWalk(holder: string, change: SyncWalkChange, opts: { release?: boolean } = {}): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':h': holder, ':now': new Date().toISOString() };
    const sets = ['updatedAt = :now'];
    const removes: string[] = [];
    addFieldChanges(change, { names, values, sets, removes });
    if (opts.release) {
      sets.push('leaseUntilMs = :zero');
      values[':zero'] = 0;
      removes.push('leaseHolder');
    }
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: walkEntity.key(),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: 'leaseHolder = :h',
        ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: values,
      }),
    );
  }

  /**
   * Records a tenant's customer id, and the customer -> tenant lookup, unless the tenant already
   * has a different one: then `taken` with the one it has (the caller deletes its duplicate).
   */
  async attachCustomer(tenantId: string, customerId: string, now: Date): Promise<AttachCustomerResult> {
    const result = await transact(this.doc, [
      {
        Update: {
          TableName: this.table,
          Key: accountEntity.key(tenantId),
          UpdateExpression:
            'SET customerId = :c, #type = :type, tenantId = :t, gsi1pk = :g, gsi1sk = :t, updatedAt = :now, ' +
            '#status = if_not_exists(#status, :none), statusEventAt = if_not_exists(statusEventAt, :zero)',
          ConditionExpression: 'attribute_not_exists(customerId) OR customerId = :c',
          ExpressionAttributeNames: { '#type': 'type', '#status': 'status' },
          ExpressionAttributeValues: {
            ':c': customerId,
            ':type': accountEntity.type,
            ':t': tenantId,
            ':g': keys.billingAccountsIndex(),
            ':now': now.toISOString(),
            ':none': 'none',
            ':zero': 0,
          },
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: stripeCustomerEntity.item(stripeCustomerEntity.key(customerId), { customerId, tenantId }),
        },
      },
    ]);
    if (result.ok) return { status: 'attached' };
    const existing = (await this.getAccount(tenantId))?.customerId;
    if (!existing) throw new Error(`billing account of ${tenantId} refused customer ${customerId}`);
    return { status: 'taken', existing };
  }

  async tenantOfCustomer(customerId: string): Promise<string | undefined> {
    return stripeCustomerEntity.get(this.doc, this.table, stripeCustomerEntity.key(customerId));
  }

  /** The marker that makes a webhook event once-only, for the transaction that applies it. */
  eventMarkerItem(tenantId: string, event: { id: string; type: string }, outcome: string, now: Date) {
    return {
      Put: {
        TableName: this.table,
        Item: stripeEventEntity.item(stripeEventEntity.key(tenantId, event.id), {
          eventId: event.id,
          eventType: event.type,
          outcome,
          processedAt: now.toISOString(),
          // Stripe retries an event for 3 days; kept a month, then DynamoDB drops it.
          ttl: Math.floor(now.getTime() / 1000) + 30 * 86_400,
        }),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    } satisfies TransactItem;
  }

  async eventSeen(tenantId: string, eventId: string): Promise<boolean> {
    const event = await stripeEventEntity.get(
      this.doc,
      this.table,
      stripeEventEntity.key(tenantId, eventId),
      {
        consistent: true,
      },
    );
    return event !== undefined;
  }

  /**
   * The Update that changes an account, conditional on it being as it was read (status and the
   * event time that set it): two webhooks for one tenant cannot both apply what they decided.
   */
  accountUpdateItem(
    tenantId: string,
    change: Partial<Omit<BillingAccount, 'tenantId'>>,
    read: Pick<BillingAccount, 'status' | 'statusEventAt'> & Partial<Pick<BillingAccount, 'planChangedAt'>>,
  ): TransactItem {
    const names: Record<string, string> = { '#sea': 'statusEventAt', '#st': 'status' };
    const values: Record<string, unknown> = { ':read_sea': read.statusEventAt, ':read_st': read.status };
    let condition = '#sea = :read_sea AND #st = :read_st';
    if (read.planChangedAt !== undefined) {
      // Plan changes are ordered by when they were chosen: none may overwrite a newer one.
      names['#pca'] = 'planChangedAt';
      values[':read_pca'] = read.planChangedAt;
      condition += ' AND (attribute_not_exists(#pca) OR #pca = :read_pca)';
    }
    const sets: string[] = [];
    const removes: string[] = [];
    addFieldChanges(change, { names, values, sets, removes });
    const expr = [
      sets.length ? `SET ${sets.join(', ')}` : '',
      removes.length ? `REMOVE ${removes.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    return {
      Update: {
        TableName: this.table,
        Key: accountEntity.key(tenantId),
        UpdateExpression: expr,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }

  async getSync(tenantId: string): Promise<SyncState | undefined> {
    const sync = await syncEntity.get(this.doc, this.table, syncEntity.key(tenantId), { consistent: true });
    return sync && { ...sync, tenantId };
  }

  /** Starts a tenant's cursor (once: a second start is a no-op, and false). */
  async startSync(tenantId: string, cursorMs: number): Promise<boolean> {
    return conditionHeld(
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: syncEntity.item(syncEntity.key(tenantId), { tenantId, cursorMs, month: '' }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  /** Notes that the provider accepted one meter's event of the window at `cursorMs`. False: the cursor moved. */
  async markSent(tenantId: string, cursorMs: number, eventName: string): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: syncEntity.key(tenantId),
        UpdateExpression: 'ADD sent :m',
        ConditionExpression: 'cursorMs = :c',
        ExpressionAttributeValues: { ':m': new Set([eventName]), ':c': cursorMs },
      }),
    );
  }

  /**
   * Moves the cursor past a window whose every event was accepted, with the month's included
   * units used so far. False when another run moved it first.
   */
  async advance(
    tenantId: string,
    from: number,
    to: { cursorMs: number; month: string; includedUsed: Units },
  ): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: syncEntity.key(tenantId),
        UpdateExpression: 'SET cursorMs = :to, #month = :month, includedUsed = :used REMOVE sent',
        ConditionExpression: 'cursorMs = :from',
        ExpressionAttributeNames: { '#month': 'month' },
        ExpressionAttributeValues: {
          ':to': to.cursorMs,
          ':from': from,
          ':month': to.month,
          ':used': to.includedUsed,
        },
      }),
    );
  }

  async putPrice(record: PriceRecord): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: priceEntity.item(
          priceEntity.key(record.model, record.version, record.unit, record.channel ?? 'online'),
          record,
        ),
      }),
    );
  }

  async listPrices(): Promise<PriceRecord[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :p',
      ExpressionAttributeValues: { ':p': keys.billingPricesPartition() },
    });
    return items.map(priceEntity.from);
  }

  private conditional(command: UpdateCommand): Promise<boolean> {
    return conditionHeld(this.doc.send(command));
  }
}

function toAccount(i: Record<string, unknown>): BillingAccount {
  return {
    tenantId: i.tenantId as string,
    customerId: (i.customerId as string | undefined) ?? null,
    subscriptionId: (i.subscriptionId as string | undefined) ?? null,
    status: ((i.status as BillingStatus | undefined) ?? 'none') as BillingStatus,
    pastDueSince: (i.pastDueSince as string | undefined) ?? null,
    statusEventAt: Number(i.statusEventAt ?? 0),
    suspendedByBilling: i.suspendedByBilling === true,
    billedFromMs: i.billedFromMs === undefined ? null : Number(i.billedFromMs),
    billedUntilMs: i.billedUntilMs === undefined ? null : Number(i.billedUntilMs),
    plan: (i.plan as string | undefined) ?? null,
    cancelAtPeriodEnd: i.cancelAtPeriodEnd === true,
    planChangedAt: Number(i.planChangedAt ?? 0),
    planEventAt: Number(i.planEventAt ?? 0),
    updatedAt: (i.updatedAt as string | undefined) ?? '',
  };
}
