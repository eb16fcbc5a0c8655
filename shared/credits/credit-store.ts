import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type AuditActor, type AuditEntry, AuditLog } from '../accounts/audit-log';
import { conditionHeld } from '../db/conditions';
import { keys } from '../db/keys';
import { queryAll, queryPage } from '../db/query';
import { type TransactItem, transact } from '../db/transact';
import { addDelta, type CreditDeltas, creditFinanceItem } from '../finance/credit-counters';
import { idTime, newId } from '../ids';
import { type UsageEvent, UsageStore } from '../metering/usage-store';
import {
  allocate,
  type CreditGrant,
  type CreditKind,
  creditKinds,
  type GrantPayment,
  type GrantStatus,
} from './burn-order';
import { TopUpStore } from './top-up-store';

/** No expiry pending: the balance item's `nextExpiry` when no active grant remains. */
export const NO_EXPIRY = '9999-12-31T23:59:59.999Z';
/** Low-balance crossings under their tenant, newest last by sort key. */
const NOTICE_PREFIX = 'CREDIT#LOWBAL#';
/** Request ids are made at a request's start, a little before it is admitted. */
const START_MARGIN_MS = 15 * 60_000;

/** The balance item, as read. */
export interface CreditBalance {
  /** What admission may still reserve: granted - burned - expired - unsettled use - held by requests in flight. */
  availableNanoUsd: number;
  grantedNanoUsd: number;
  burnedNanoUsd: number;
  expiredNanoUsd: number;
  nextExpiry: string;
  /** Requests started before this time (ms) are burned into the ledger. */
  burnedThrough: number;
  revision: number;
  /** When a free-only tenant's credit was found used up (a refusal marked it); cleared by a grant. */
  exhaustedAt?: string;
  /** The owner's low-balance thresholds (nano-USD), and per threshold when it last fired (unset: armed). */
  lowBalanceNanoUsd: number[];
  lowFired: Record<string, string>;
}

/** At most this many low-balance thresholds per tenant. */
export const MAX_LOW_BALANCE_ALERTS = 5;

/** A free-only tenant is told its credit is used up when a refusal leaves it less than this (1 cent). */
export const EXHAUSTED_BELOW_NANO_USD = 10_000_000;

/** One low-balance crossing, as the console lists it. */
export interface LowBalanceNotice {
  thresholdNanoUsd: number;
  balanceNanoUsd: number;
  at: string;
  notified: string | null;
}

/** The deterministic id of a tenant's trial grant: one per tenant, however often verification runs. */
export function trialGrantId(tenantId: string): string {
  return `crg_trial_${tenantId}`;
}

export type EntryType = 'grant' | 'burn' | 'expiry' | 'expiry_adjustment';

/** One line of the ledger. `amountNanoUsd` is signed: + adds to the balance, - takes from it. */
export interface CreditEntry {
  id: string;
  type: EntryType;
  at: string;
  amountNanoUsd: number;
  /** The grant it moves; null for a burn no grant could pay (see `allocate`). */
  grantId: string | null;
  kind: CreditKind | null;
  /** Burns: how many requests, and the span of request start times they cover. */
  requests?: number;
  from?: string;
  to?: string;
  note?: string | null;
}

export interface CreditStatement {
  balance: CreditBalance | undefined;
  grants: CreditGrant[];
  /** Use recorded but not yet burned into the ledger (open streams at their allowance). */
  pendingNanoUsd: number;
  /** Per grant id, what is left after the pending use is burned down in order. */
  left: Map<string, number>;
  /** Per kind, what is left (the balance by kind). */
  byKind: Record<CreditKind, number>;
  /** The balance: what every valid grant has left, net of the pending use. */
  balanceNanoUsd: number;
}

export interface GrantInput {
  tenantId: string;
  kind: CreditKind;
  amountNanoUsd: number;
  expiresAt: string;
  note: string | null;
  actor: AuditActor;
  requestId: string | null;
  /**
   * A deterministic id (a payment's grant: derived from the payment's id), so the grant is made
   * once however often it is asked for; default a new one.
   */
  id?: string;
  /** The payment that bought it (top-ups and auto-recharges). */
  payment?: GrantPayment;
  /** Written in the same transaction, each conditional as it says (a webhook's event marker...). */
  alongside?: TransactItem[];
}

export type GrantOutcome = { status: 'granted'; grant: CreditGrant } | { status: 'not_found' };
/**
 * `exists`: a grant with this id is already there (the payment was credited before).
 * `alongside_failed`: the condition of `alongside[index]` failed (the event was processed before).
 */
export type GrantOnceOutcome =
  | GrantOutcome
  | { status: 'exists' }
  | { status: 'alongside_failed'; index: number };

const num = (v: unknown) => Number(v ?? 0);

function grantOf(item: Record<string, unknown>): CreditGrant {
  return {
    id: item.grantId as string,
    tenantId: item.tenantId as string,
    kind: item.kind as CreditKind,
    amountNanoUsd: num(item.amountNanoUsd),
    burnedNanoUsd: num(item.burnedNanoUsd),
    expiredNanoUsd: num(item.expiredNanoUsd),
    status: item.status as GrantStatus,
    createdAt: item.createdAt as string,
    expiresAt: item.expiresAt as string,
    note: (item.note as string | null | undefined) ?? null,
    grantedBy: item.grantedBy as string,
    ...(item.payment ? { payment: item.payment as GrantPayment } : {}),
  };
}

function balanceOf(item: Record<string, unknown> | undefined): CreditBalance | undefined {
  if (!item) return undefined;
  return {
    availableNanoUsd: num(item.available),
    grantedNanoUsd: num(item.granted),
    burnedNanoUsd: num(item.burned),
    expiredNanoUsd: num(item.expired),
    nextExpiry: (item.nextExpiry as string | undefined) ?? NO_EXPIRY,
    burnedThrough: num(item.burnedThrough),
    revision: num(item.revision),
    ...(typeof item.exhaustedAt === 'string' ? { exhaustedAt: item.exhaustedAt } : {}),
    lowBalanceNanoUsd: Array.isArray(item.lowBalance) ? (item.lowBalance as unknown[]).map(Number) : [],
    lowFired: (item.lowFired as Record<string, string> | undefined) ?? {},
  };
}

function entryOf(item: Record<string, unknown>): CreditEntry {
  const { pk: _pk, sk: _sk, type: _t, entryType, ...rest } = item;
  return { ...(rest as Omit<CreditEntry, 'type'>), type: entryType as EntryType };
}

/**
 * A prepaid tenant's credit: grants, a ledger of entries (each grant, each burn, each expiry) and
 * the balance item that admission reserves against.
 *
 * The balance item's `available` moves with the quota counters: a lease or a reservation takes a
 * request's worst case out of it in the same conditional transaction as every other limit
 * (refused below zero), and what its requests did not use comes back the same way. So `available`
 * never goes below zero and, once nothing is held, equals `granted - burned - expired`.
 *
 * The ledger follows the usage records (the truth), off the request path: `settle` burns the use
 * of requests started before a horizon (when their records are final) down the grants valid at
 * each request's start, promotional before paid, earliest expiry first. Expiry is two steps, with
 * no timer: at or after the expiry (found by admission, a read or the sweep) everything the grant
 * has not burned leaves `available` at once (an `expiry` entry; nothing admitted after it can use
 * that credit); once every request started before the expiry is burned, what they used of the
 * grant comes back (an `expiry_adjustment` entry). Until then `available` is on the low side,
 * never the high one.
 */
export class CreditStore {
  private readonly usage: UsageStore;
  private readonly audit: AuditLog;
  /** Top-ups, auto-recharge settings and attempts (the payments that buy credit). */
  readonly topUps: TopUpStore;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    usageTable: string,
    /** How long after its start a request's usage record is final (MODEL_TIMEOUT_MS + RESERVATION_GRACE_MS, with margin). */
    private readonly finalityMs: number,
  ) {
    this.usage = new UsageStore(doc, usageTable);
    this.audit = new AuditLog(doc, table);
    this.topUps = new TopUpStore(doc, table);
  }

  async balance(tenantId: string): Promise<CreditBalance | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keys.creditBalance(tenantId), ConsistentRead: true }),
    );
    return balanceOf(out.Item);
  }

  async getGrant(tenantId: string, grantId: string): Promise<CreditGrant | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: keys.creditGrant(tenantId, grantId),
        ConsistentRead: true,
      }),
    );
    return out.Item ? grantOf(out.Item) : undefined;
  }

  async grants(tenantId: string): Promise<CreditGrant[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
      ExpressionAttributeValues: { ':pk': `TENANT#${tenantId}`, ':p': keys.creditGrantPrefix() },
      ConsistentRead: true,
    });
    return items.map(grantOf);
  }

  /** The ledger, newest first, a page at a time. */
  async entries(
    tenantId: string,
    page: { limit: number; cursor?: string },
  ): Promise<{ entries: CreditEntry[]; cursor: string | null } | 'bad_cursor'> {
    const pk = `TENANT#${tenantId}`;
    const out = await queryPage(
      this.doc,
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        ExpressionAttributeValues: { ':pk': pk, ':p': keys.creditEntryPrefix() },
        ScanIndexForward: false,
        ConsistentRead: true,
      },
      {
        limit: page.limit,
        cursor: page.cursor,
        partition: { pk },
        accept: (start) => start.sk?.startsWith(keys.creditEntryPrefix()) === true,
      },
    );
    if (out === 'bad_cursor') return out;
    return { entries: out.items.map(entryOf), cursor: out.cursor };
  }

  /**
   * The item updates that make sure a tenant has a balance item (a tenant switched to prepaid with
   * no grant yet has a balance of zero, so its requests are refused until it gets credit).
   */
  ensureBalanceItem(tenantId: string, now: Date): TransactItem {
    return {
      Update: {
        TableName: this.table,
        Key: keys.creditBalance(tenantId),
        UpdateExpression:
          'SET #type = :type, tenantId = :t, gsi1pk = :g, gsi1sk = :t, nextExpiry = if_not_exists(nextExpiry, :ne), burnedThrough = if_not_exists(burnedThrough, :bt), revision = if_not_exists(revision, :zero) ADD available :zero, granted :zero, burned :zero, expired :zero',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: {
          ':type': 'credit_balance',
          ':t': tenantId,
          ':g': keys.creditBalancesIndex(),
          ':ne': NO_EXPIRY,
          ':bt': now.getTime() - START_MARGIN_MS,
          ':zero': 0,
        },
      },
    };
  }

  /**
   * Grants credit: the grant, its ledger entry, the balance (created if need be) and the audit
   * entry, in one transaction conditional on the tenant existing. The expiry must be in the future.
   */
  async grant(input: GrantInput, now: Date): Promise<GrantOutcome> {
    const grant = this.newGrant(input, newId('crg', now.getTime()), now);
    for (let attempt = 0; attempt < 5; attempt++) {
      const bal = await this.balance(input.tenantId);
      const result = await transact(this.doc, [
        {
          ConditionCheck: {
            TableName: this.table,
            Key: keys.tenant(input.tenantId),
            ConditionExpression: 'attribute_exists(pk)',
          },
        },
        ...this.grantWrite(grant, bal, now, this.grantAudit(input, grant, now)),
      ]);
      if (result.ok) return { status: 'granted', grant };
      if (result.reasons[0]?.Code === 'ConditionalCheckFailed') return { status: 'not_found' };
    }
    throw new Error(`the credit balance of ${input.tenantId} kept changing while granting`);
  }

  /**
   * The writes of a new tenant's trial grant, for the transaction that activates the tenant: the
   * grant under its deterministic id (`trialGrantId`, written only if absent, so a tenant gets one
   * trial however often or concurrently verification runs), its ledger entry, the balance and the
   * audit entry. `balanceItem` is the index of the balance's update, conditional on the balance as
   * read: when that condition fails, read again and retry.
   */
  async trialItems(
    tenantId: string,
    trial: { amountNanoUsd: number; days: number; plan: string },
    now: Date,
  ): Promise<{ items: TransactItem[]; balanceItem: number; grant: CreditGrant }> {
    const input: GrantInput = {
      tenantId,
      kind: 'trial',
      amountNanoUsd: trial.amountNanoUsd,
      expiresAt: new Date(now.getTime() + trial.days * 86_400_000).toISOString(),
      note: `Trial of the ${trial.plan} plan, ${trial.days} days`,
      actor: { kind: 'system', id: 'trial' },
      requestId: null,
    };
    const grant = this.newGrant(input, trialGrantId(tenantId), now);
    const bal = await this.balance(tenantId);
    return {
      items: this.grantWrite(grant, bal, now, this.grantAudit(input, grant, now)),
      balanceItem: 2,
      grant,
    };
  }

  /**
   * `grant` under a deterministic id (`input.id`) with writes alongside: a payment's credit, made
   * once however often and however concurrently it is asked for (`exists` the second time).
   */
  async grantOnce(input: GrantInput, now: Date): Promise<GrantOnceOutcome> {
    const grant = this.newGrant(input, input.id ?? newId('crg', now.getTime()), now);
    const alongside = input.alongside ?? [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const bal = await this.balance(input.tenantId);
      // The grant's writes: the grant first (its id free), then its entry, the balance, the audit
      // entry and the finance totals; what goes alongside follows them.
      const writes = this.grantWrite(grant, bal, now, this.grantAudit(input, grant, now));
      const result = await transact(this.doc, [
        {
          ConditionCheck: {
            TableName: this.table,
            Key: keys.tenant(input.tenantId),
            ConditionExpression: 'attribute_exists(pk)',
          },
        },
        ...writes,
        ...alongside,
      ]);
      if (result.ok) return { status: 'granted', grant };
      const failed = (i: number) => result.reasons[i]?.Code === 'ConditionalCheckFailed';
      if (failed(0)) return { status: 'not_found' };
      if (failed(1)) return { status: 'exists' };
      const index = alongside.findIndex((_, i) => failed(1 + writes.length + i));
      if (index >= 0) return { status: 'alongside_failed', index };
    }
    throw new Error(`the credit balance of ${input.tenantId} kept changing while granting`);
  }

  private newGrant(input: GrantInput, id: string, now: Date): CreditGrant {
    return {
      id,
      tenantId: input.tenantId,
      kind: input.kind,
      amountNanoUsd: input.amountNanoUsd,
      burnedNanoUsd: 0,
      expiredNanoUsd: 0,
      status: 'active',
      createdAt: now.toISOString(),
      expiresAt: input.expiresAt,
      note: input.note,
      grantedBy: 'email' in input.actor ? input.actor.email : input.actor.id,
      ...(input.payment ? { payment: input.payment } : {}),
    };
  }

  private grantAudit(input: GrantInput, grant: CreditGrant, now: Date): AuditEntry {
    return this.audit.entry(
      {
        actor: input.actor,
        action: 'tenant.credit_grant',
        target: { type: 'tenant', id: input.tenantId, tenantId: input.tenantId },
        before: null,
        after: {
          grantId: grant.id,
          kind: grant.kind,
          amountNanoUsd: grant.amountNanoUsd,
          expiresAt: grant.expiresAt,
          note: grant.note,
        },
        requestId: input.requestId,
      },
      now,
    );
  }

  /**
   * A grant's writes: the grant (its id must be free), its ledger entry, the balance (created if
   * need be, conditional on its revision as read) and the audit entry. New credit ends an
   * exhaustion (`exhaustedAt` goes: the next one is told again).
   */
  private grantWrite(
    grant: CreditGrant,
    bal: CreditBalance | undefined,
    now: Date,
    audit: AuditEntry,
  ): TransactItem[] {
    const tenantId = grant.tenantId;
    const nextExpiry = !bal || grant.expiresAt < bal.nextExpiry ? grant.expiresAt : bal.nextExpiry;
    return [
      {
        Put: {
          TableName: this.table,
          Item: {
            ...keys.creditGrant(tenantId, grant.id),
            type: 'credit_grant',
            grantId: grant.id,
            tenantId,
            kind: grant.kind,
            amountNanoUsd: grant.amountNanoUsd,
            burnedNanoUsd: 0,
            expiredNanoUsd: 0,
            status: 'active',
            createdAt: grant.createdAt,
            expiresAt: grant.expiresAt,
            note: grant.note,
            grantedBy: grant.grantedBy,
            ...(grant.payment ? { payment: grant.payment } : {}),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      this.entryPut(tenantId, now, {
        type: 'grant',
        amountNanoUsd: grant.amountNanoUsd,
        grantId: grant.id,
        kind: grant.kind,
        note: grant.note,
      }),
      {
        Update: {
          TableName: this.table,
          Key: keys.creditBalance(tenantId),
          UpdateExpression:
            'SET #type = :type, tenantId = :t, gsi1pk = :g, gsi1sk = :t, nextExpiry = :ne, burnedThrough = if_not_exists(burnedThrough, :bt), revision = :rev1 ADD available :a, granted :a, burned :zero, expired :zero REMOVE exhaustedAt',
          ConditionExpression: bal ? 'revision = :rev' : 'attribute_not_exists(pk)',
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: {
            ':type': 'credit_balance',
            ':t': tenantId,
            ':g': keys.creditBalancesIndex(),
            ':ne': nextExpiry,
            ':bt': now.getTime() - START_MARGIN_MS,
            ':rev1': (bal?.revision ?? 0) + 1,
            ':a': grant.amountNanoUsd,
            ':zero': 0,
            ...(bal ? { ':rev': bal.revision } : {}),
          },
        },
      },
      this.audit.putItem(audit),
      ...this.finance(tenantId, now, (d) => addDelta(d, 'sold', grant.kind, grant.amountNanoUsd)),
    ];
  }

  /**
   * Switches a tenant between prepaid (admitted against its balance, refused at zero) and postpaid,
   * with its audit entry, in one transaction; a prepaid tenant gets a balance item (zero until
   * credit is granted). Unchanged when it is already so.
   */
  async setBillingMode(
    input: { tenantId: string; mode: 'prepaid' | 'postpaid'; actor: AuditActor; requestId: string | null },
    now: Date,
  ): Promise<'changed' | 'unchanged' | 'not_found'> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keys.tenant(input.tenantId), ConsistentRead: true }),
    );
    if (!out.Item) return 'not_found';
    const before = out.Item.billingMode === 'prepaid' ? 'prepaid' : 'postpaid';
    if (before === input.mode) return 'unchanged';
    const audit = this.audit.entry(
      {
        actor: input.actor,
        action: 'tenant.billing_mode',
        target: { type: 'tenant', id: input.tenantId, tenantId: input.tenantId },
        before: { billingMode: before, ...(out.Item.freeOnly === true ? { freeOnly: true } : {}) },
        after: {
          billingMode: input.mode,
          ...(out.Item.freeOnly === true && input.mode === 'prepaid' ? { freeOnly: true } : {}),
        },
        requestId: input.requestId,
      },
      now,
    );
    const result = await transact(this.doc, [
      {
        Update: {
          TableName: this.table,
          Key: keys.tenant(input.tenantId),
          // Postpaid means invoiced: a free-only tenant is never invoiced, so free-only goes too.
          UpdateExpression:
            input.mode === 'prepaid' ? 'SET billingMode = :m' : 'REMOVE billingMode, freeOnly',
          ConditionExpression:
            input.mode === 'prepaid'
              ? 'attribute_exists(pk) AND attribute_not_exists(billingMode)'
              : 'attribute_exists(pk) AND billingMode = :m',
          ExpressionAttributeValues: { ':m': 'prepaid' },
        },
      },
      ...(input.mode === 'prepaid' ? [this.ensureBalanceItem(input.tenantId, now)] : []),
      this.audit.putItem(audit),
    ]);
    return result.ok ? 'changed' : 'unchanged';
  }

  /**
   * Brings the ledger up to date, lazily (every read, a refused request while an expiry settles,
   * the sweep): burns the use of requests whose records are final, expires what is due, and
   * completes the expiries every request before them is burned for. Safe to run anywhere at once: each step is
   * conditional on what it read.
   */
  async catchUp(tenantId: string, now: Date): Promise<void> {
    // Burns first: a grant whose expiry the final records already cover then expires at its exact
    // remainder (no provisional expiry and adjustment).
    await this.settle(tenantId, now);
    await this.expireDue(tenantId, now);
    await this.finishExpiries(tenantId, now);
  }

  /**
   * Step one of an expiry, at or after it: every active grant whose expiry has come leaves the
   * balance with what it has not burned (`expiry` entry), and `nextExpiry` moves on. Whatever
   * requests in flight hold is taken too (so `available` may dip below zero until they settle and
   * `finishExpiries` gives back what they used of the grant): nothing admitted from here on can
   * spend expired credit. Returns whether anything expired.
   */
  async expireDue(tenantId: string, now: Date): Promise<boolean> {
    const at = now.toISOString();
    for (let attempt = 0; attempt < 5; attempt++) {
      const bal = await this.balance(tenantId);
      if (!bal || bal.nextExpiry > at) return false;
      const grants = await this.grants(tenantId);
      const due = grants.filter((g) => g.status === 'active' && g.expiresAt <= at);
      const next =
        grants
          .filter((g) => g.status === 'active' && g.expiresAt > at)
          .map((g) => g.expiresAt)
          .sort()[0] ?? NO_EXPIRY;
      const items: TransactItem[] = [];
      let total = 0;
      for (const g of due.slice(0, 30)) {
        const provisional = Math.max(0, g.amountNanoUsd - g.burnedNanoUsd);
        total += provisional;
        items.push({
          Update: {
            TableName: this.table,
            Key: keys.creditGrant(tenantId, g.id),
            UpdateExpression: 'SET #status = :expiring, expiredNanoUsd = :p',
            ConditionExpression: '#status = :active',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':expiring': 'expiring', ':active': 'active', ':p': provisional },
          },
        });
        if (provisional > 0)
          items.push(
            this.entryPut(tenantId, now, {
              type: 'expiry',
              amountNanoUsd: -provisional,
              grantId: g.id,
              kind: g.kind,
            }),
          );
      }
      const remainingDue = due.length > 30;
      items.push(
        ...this.finance(tenantId, now, (d) => {
          for (const g of due.slice(0, 30))
            addDelta(d, 'expired', g.kind, Math.max(0, g.amountNanoUsd - g.burnedNanoUsd));
        }),
      );
      items.push({
        Update: {
          TableName: this.table,
          Key: keys.creditBalance(tenantId),
          UpdateExpression:
            'SET nextExpiry = :ne, revision = :rev1 ADD available :neg, expired :p, expiring :n',
          ConditionExpression: 'revision = :rev',
          ExpressionAttributeValues: {
            ':n': Math.min(due.length, 30),
            ':ne': remainingDue ? at : next,
            ':rev': bal.revision,
            ':rev1': bal.revision + 1,
            ':neg': -total,
            ':p': total,
          },
        },
      });
      const result = await transact(this.doc, items);
      if (result.ok && !remainingDue) return true;
    }
    return true;
  }

  /**
   * Burns into the ledger the use of every prepaid request started before `now - finalityMs`
   * (stopping before a stream still open): one burn entry per grant it touched, the grants' and
   * the balance's totals moved, and the cursor moved, in one transaction conditional on the cursor
   * as read (a second run at once does nothing twice).
   */
  async settle(tenantId: string, now: Date): Promise<void> {
    const bal = await this.balance(tenantId);
    if (!bal) return;
    let to = now.getTime() - this.finalityMs;
    const from = bal.burnedThrough;
    if (to <= from) return;
    const records = await this.prepaidRecords(tenantId, from, to);
    const open = records.find((r) => r.status === 'open');
    if (open) to = idTime(open.requestId);
    if (to <= from) return;
    const uses = records
      .filter((r) => r.status === 'succeeded' && idTime(r.requestId) < to)
      .map((r) => ({ at: idTime(r.requestId), costNanoUsd: r.costNanoUsd }));
    const grants = await this.grants(tenantId);
    const byId = new Map(grants.map((g) => [g.id, g]));
    const { burns, uncoveredNanoUsd } = allocate(grants, uses);
    const span = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
    const items: TransactItem[] = [];
    let total = 0;
    for (const [grantId, b] of burns) {
      const g = byId.get(grantId)!;
      total += b.nanoUsd;
      items.push({
        Update: {
          TableName: this.table,
          Key: keys.creditGrant(tenantId, grantId),
          UpdateExpression: 'ADD burnedNanoUsd :b',
          ConditionExpression: 'burnedNanoUsd = :old',
          ExpressionAttributeValues: { ':b': b.nanoUsd, ':old': g.burnedNanoUsd },
        },
      });
      items.push(
        this.entryPut(tenantId, now, {
          type: 'burn',
          amountNanoUsd: -b.nanoUsd,
          grantId,
          kind: g.kind,
          requests: b.requests,
          ...span,
        }),
      );
    }
    if (uncoveredNanoUsd > 0) {
      total += uncoveredNanoUsd;
      items.push(
        this.entryPut(tenantId, now, {
          type: 'burn',
          amountNanoUsd: -uncoveredNanoUsd,
          grantId: null,
          kind: null,
          note: 'use no grant covered (a request that outlived its hold)',
          ...span,
        }),
      );
    }
    items.push(
      ...this.finance(tenantId, now, (d) => {
        for (const [grantId, b] of burns) addDelta(d, 'used', byId.get(grantId)!.kind, b.nanoUsd);
        addDelta(d, 'used', null, uncoveredNanoUsd);
      }),
    );
    items.push({
      Update: {
        TableName: this.table,
        Key: keys.creditBalance(tenantId),
        UpdateExpression: 'SET burnedThrough = :to ADD burned :b',
        ConditionExpression: 'burnedThrough = :from',
        ExpressionAttributeValues: { ':to': to, ':from': from, ':b': total },
      },
    });
    await transact(this.doc, items);
  }

  /**
   * Step two of an expiry: once every request started before it is burned (the cursor passed it),
   * what those requests used of the grant comes back to `available` (an `expiry_adjustment`
   * entry), and the grant's expired amount is exact.
   */
  async finishExpiries(tenantId: string, now: Date): Promise<void> {
    const bal = await this.balance(tenantId);
    if (!bal) return;
    const grants = await this.grants(tenantId);
    for (const g of grants) {
      if (g.status !== 'expiring' || Date.parse(g.expiresAt) > bal.burnedThrough) continue;
      const exact = Math.max(0, g.amountNanoUsd - g.burnedNanoUsd);
      const back = g.expiredNanoUsd - exact;
      await transact(this.doc, [
        {
          Update: {
            TableName: this.table,
            Key: keys.creditGrant(tenantId, g.id),
            UpdateExpression: 'SET #status = :expired, expiredNanoUsd = :e',
            ConditionExpression: '#status = :expiring AND burnedNanoUsd = :b',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':expired': 'expired',
              ':expiring': 'expiring',
              ':e': exact,
              ':b': g.burnedNanoUsd,
            },
          },
        },
        ...(back !== 0
          ? [
              this.entryPut(tenantId, now, {
                type: 'expiry_adjustment' as const,
                amountNanoUsd: back,
                grantId: g.id,
                kind: g.kind,
                note: 'used by requests started before the expiry',
              }),
            ]
          : []),
        {
          Update: {
            TableName: this.table,
            Key: keys.creditBalance(tenantId),
            UpdateExpression: 'ADD available :back, expired :neg, expiring :minus',
            ExpressionAttributeValues: { ':back': back, ':neg': -back, ':minus': -1 },
          },
        },
        ...this.finance(tenantId, now, (d) => addDelta(d, 'expired', g.kind, -back)),
      ]);
    }
  }

  /**
   * The balance as the tenant should read it, after `catchUp`: every grant, what each has left
   * once the use not yet burned (open streams at their allowance) is burned down in order, and
   * the totals by kind.
   */
  async statement(tenantId: string, now: Date): Promise<CreditStatement> {
    await this.catchUp(tenantId, now);
    const [balance, grants] = await Promise.all([this.balance(tenantId), this.grants(tenantId)]);
    const left = new Map(
      grants.map((g) => [g.id, g.status === 'active' ? g.amountNanoUsd - g.burnedNanoUsd : 0]),
    );
    let pendingNanoUsd = 0;
    if (balance) {
      const records = await this.prepaidRecords(tenantId, balance.burnedThrough, now.getTime());
      const uses = records
        .filter((r) => r.status !== 'void' && idTime(r.requestId) >= balance.burnedThrough)
        .map((r) => ({ at: idTime(r.requestId), costNanoUsd: r.costNanoUsd }));
      pendingNanoUsd = uses.reduce((s, u) => s + u.costNanoUsd, 0);
      const { burns } = allocate(
        grants.filter((g) => g.status === 'active'),
        uses,
      );
      for (const [id, b] of burns) left.set(id, (left.get(id) ?? 0) - b.nanoUsd);
    }
    const byKind = Object.fromEntries(creditKinds.map((k) => [k, 0])) as Record<CreditKind, number>;
    for (const g of grants) byKind[g.kind] += left.get(g.id) ?? 0;
    const balanceNanoUsd = creditKinds.reduce((s, k) => s + byKind[k], 0);
    return { balance, grants, pendingNanoUsd, left, byKind, balanceNanoUsd };
  }

  /**
   * Turns a tenant's free-only switch on or off, with its audit entry (`tenant.free_only`), in one
   * transaction conditional on the switch as read. On: the tenant is admitted against its balance
   * (prepaid, with a balance item) and never invoiced. Off: the tenant goes to paid use: it stays
   * prepaid if it holds paid credit (which it keeps spending; refused at zero), and otherwise
   * becomes postpaid (its use billed as its plan says: past the included units on a plan that
   * bills, up to the spend cap; refused past them on a plan that stops).
   */
  async setFreeOnly(
    input: { tenantId: string; on: boolean; actor: AuditActor; requestId: string | null },
    now: Date,
  ): Promise<
    | { status: 'changed' | 'unchanged'; billingMode: 'prepaid' | 'postpaid'; freeOnly: boolean }
    | { status: 'not_found' | 'conflict' }
  > {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keys.tenant(input.tenantId), ConsistentRead: true }),
    );
    if (!out.Item) return { status: 'not_found' };
    const wasOn = out.Item.freeOnly === true;
    const modeBefore = out.Item.billingMode === 'prepaid' ? 'prepaid' : 'postpaid';
    if (wasOn === input.on) return { status: 'unchanged', billingMode: modeBefore, freeOnly: wasOn };
    let modeAfter: 'prepaid' | 'postpaid' = 'prepaid';
    if (!input.on && modeBefore === 'prepaid') {
      const s = await this.statement(input.tenantId, now);
      modeAfter = s.byKind.paid > 0 ? 'prepaid' : 'postpaid';
    } else if (!input.on) modeAfter = 'postpaid';
    const audit = this.audit.entry(
      {
        actor: input.actor,
        action: 'tenant.free_only',
        target: { type: 'tenant', id: input.tenantId, tenantId: input.tenantId },
        before: { freeOnly: wasOn, billingMode: modeBefore },
        after: { freeOnly: input.on, billingMode: modeAfter },
        requestId: input.requestId,
      },
      now,
    );
    const result = await transact(this.doc, [
      {
        Update: {
          TableName: this.table,
          Key: keys.tenant(input.tenantId),
          UpdateExpression: input.on
            ? 'SET freeOnly = :true, billingMode = :prepaid'
            : modeAfter === 'prepaid'
              ? 'REMOVE freeOnly'
              : 'REMOVE freeOnly, billingMode',
          ConditionExpression: input.on
            ? 'attribute_exists(pk) AND attribute_not_exists(freeOnly)'
            : 'freeOnly = :true',
          ExpressionAttributeValues: { ':true': true, ...(input.on ? { ':prepaid': 'prepaid' } : {}) },
        },
      },
      ...(input.on ? [this.ensureBalanceItem(input.tenantId, now)] : []),
      this.audit.putItem(audit),
    ]);
    if (!result.ok) return { status: 'conflict' };
    return { status: 'changed', billingMode: modeAfter, freeOnly: input.on };
  }

  /**
   * Marks a free-only tenant's credit as used up, once per exhaustion: one conditional write, true
   * only for the call that made it (concurrent refusals race for it; one wins). Conditional on the
   * credit granted being what the refusal saw, so a refusal read before a grant marks nothing.
   */
  async markExhausted(tenantId: string, grantedNanoUsd: number, now: Date): Promise<boolean> {
    return conditionHeld(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.creditBalance(tenantId),
          UpdateExpression: 'SET exhaustedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(exhaustedAt) AND granted = :g',
          ExpressionAttributeValues: { ':now': now.toISOString(), ':g': grantedNanoUsd },
        }),
      ),
    );
  }

  /**
   * Sets the owner's low-balance thresholds (nano-USD, distinct, at most
   * `MAX_LOW_BALANCE_ALERTS`), with the audit entry. A threshold kept keeps its state (fired or
   * armed); a new one is armed (if the balance is already below it, the next check tells at once);
   * a removed one is forgotten. Creates the balance item if need be (zero, like a tenant switched
   * to prepaid), so the sweep checks it.
   */
  async setLowBalanceAlerts(
    input: { tenantId: string; thresholdsNanoUsd: number[]; actor: AuditActor; requestId: string | null },
    now: Date,
  ): Promise<'changed' | 'unchanged'> {
    const bal = await this.balance(input.tenantId);
    const next = [...new Set(input.thresholdsNanoUsd)].sort((a, b) => b - a);
    const before = bal?.lowBalanceNanoUsd ?? [];
    if (before.length === next.length && before.every((t, i) => t === next[i])) return 'unchanged';
    const removed = Object.keys(bal?.lowFired ?? {}).filter((k) => !next.includes(Number(k.slice(1))));
    const ensure = this.ensureBalanceItem(input.tenantId, now).Update!;
    const names: Record<string, string> = { ...ensure.ExpressionAttributeNames };
    removed.forEach((k, i) => {
      names[`#r${i}`] = k;
    });
    const hasFired = bal !== undefined && Object.keys(bal.lowFired).length > 0;
    const [set, add] = ensure.UpdateExpression!.split(' ADD ');
    const audit = this.audit.entry(
      {
        actor: input.actor,
        action: 'tenant.low_balance_alerts',
        target: { type: 'tenant', id: input.tenantId, tenantId: input.tenantId },
        before: { lowBalanceNanoUsd: before },
        after: { lowBalanceNanoUsd: next },
        requestId: input.requestId,
      },
      now,
    );
    const result = await transact(this.doc, [
      {
        Update: {
          ...ensure,
          UpdateExpression:
            `${set}, lowBalance = :low${hasFired ? '' : ', lowFired = if_not_exists(lowFired, :empty)'}` +
            ` ADD ${add}` +
            (removed.length ? ` REMOVE ${removed.map((_, i) => `lowFired.#r${i}`).join(', ')}` : ''),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ...ensure.ExpressionAttributeValues,
            ':low': next,
            ...(hasFired ? {} : { ':empty': {} }),
          },
        },
      },
      this.audit.putItem(audit),
    ]);
    if (!result.ok) throw new Error(`low-balance alerts of ${input.tenantId} not written`);
    return 'changed';
  }

  /**
   * The low-balance check, off the request path (the sweep): brings the ledger up to date, then
   * for each threshold the balance is below and that is armed, fires it (the balance item's
   * `lowFired` entry and a notice, in one transaction conditional on it being armed: concurrent
   * checks fire it once); each fired threshold the balance is back at or above (a grant, a top-up)
   * is re-armed. Returns the crossings this call fired (the caller tells the owner).
   */
  async checkLowBalance(tenantId: string, now: Date): Promise<LowBalanceNotice[]> {
    const first = await this.balance(tenantId);
    if (!first || first.lowBalanceNanoUsd.length === 0) {
      await this.catchUp(tenantId, now);
      return [];
    }
    const s = await this.statement(tenantId, now);
    const bal = s.balance;
    if (!bal) return [];
    const fired: LowBalanceNotice[] = [];
    for (const t of bal.lowBalanceNanoUsd) {
      const k = `t${t}`;
      const firedAt = bal.lowFired[k];
      if (s.balanceNanoUsd < t && firedAt === undefined) {
        const at = now.toISOString();
        const notice: LowBalanceNotice = {
          thresholdNanoUsd: t,
          balanceNanoUsd: s.balanceNanoUsd,
          at,
          notified: null,
        };
        const result = await transact(this.doc, [
          {
            Update: {
              TableName: this.table,
              Key: keys.creditBalance(tenantId),
              UpdateExpression: 'SET lowFired.#k = :at',
              ConditionExpression:
                'attribute_exists(lowFired) AND attribute_not_exists(lowFired.#k) AND contains(lowBalance, :t)',
              ExpressionAttributeNames: { '#k': k },
              ExpressionAttributeValues: { ':at': at, ':t': t },
            },
          },
          {
            Put: {
              TableName: this.table,
              Item: {
                pk: `TENANT#${tenantId}`,
                sk: `${NOTICE_PREFIX}${at}#${k}`,
                type: 'credit_low_balance',
                tenantId,
                ...notice,
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ]);
        if (result.ok) fired.push(notice);
      } else if (s.balanceNanoUsd >= t && firedAt !== undefined) {
        await conditionHeld(
          this.doc.send(
            new UpdateCommand({
              TableName: this.table,
              Key: keys.creditBalance(tenantId),
              UpdateExpression: 'REMOVE lowFired.#k',
              ConditionExpression: 'lowFired.#k = :at',
              ExpressionAttributeNames: { '#k': k },
              ExpressionAttributeValues: { ':at': firedAt },
            }),
          ),
        );
      }
    }
    return fired;
  }

  /** Records where a crossing's email went (after it was sent). */
  async noticeSent(tenantId: string, notice: LowBalanceNotice, to: string): Promise<void> {
    await conditionHeld(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `TENANT#${tenantId}`, sk: `${NOTICE_PREFIX}${notice.at}#t${notice.thresholdNanoUsd}` },
          UpdateExpression: 'SET notified = :to',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':to': to },
        }),
      ),
    );
  }

  /** The low-balance crossings, newest first. */
  async lowBalanceNotices(tenantId: string, limit = 20): Promise<LowBalanceNotice[]> {
    const page = await queryPage(
      this.doc,
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        ExpressionAttributeValues: { ':pk': `TENANT#${tenantId}`, ':p': NOTICE_PREFIX },
        ScanIndexForward: false,
        ConsistentRead: true,
      },
      { limit, partition: { pk: `TENANT#${tenantId}` } },
    );
    if (page === 'bad_cursor') return [];
    return page.items.map((i) => ({
      thresholdNanoUsd: num(i.thresholdNanoUsd),
      balanceNanoUsd: num(i.balanceNanoUsd),
      at: i.at as string,
      notified: (i.notified as string | null | undefined) ?? null,
    }));
  }

  /** Every prepaid tenant with a balance (the sweep's list: one Query of the index, no Scan). */
  async tenantsWithBalance(): Promise<string[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :p',
      ExpressionAttributeValues: { ':p': keys.creditBalancesIndex() },
    });
    return items.map((i) => i.tenantId as string);
  }

  /** The records admitted against the balance whose request started in [from, to) (ms). */
  private async prepaidRecords(tenantId: string, from: number, to: number): Promise<UsageEvent[]> {
    const records = await this.usage.listEvents(tenantId, { from, to: to - 1 }, { all: true });
    return records.filter(
      (r) => r.prepaid === true && idTime(r.requestId) >= from && idTime(r.requestId) < to,
    );
  }

  /**
   * The operators' finance totals for what a transaction writes to the ledger (see
   * shared/finance/credit-counters.ts): one more item, the tenant's shard of the month's totals.
   */
  private finance(tenantId: string, now: Date, fill: (d: CreditDeltas) => void): TransactItem[] {
    const d: CreditDeltas = new Map();
    fill(d);
    return creditFinanceItem(this.table, tenantId, now, d);
  }

  private entryPut(tenantId: string, now: Date, entry: Omit<CreditEntry, 'id' | 'at'>): TransactItem {
    const id = newId('cle', now.getTime());
    const { type, ...rest } = entry;
    return {
      Put: {
        TableName: this.table,
        Item: {
          ...keys.creditEntry(tenantId, id),
          type: 'credit_entry',
          id,
          at: now.toISOString(),
          tenantId,
          ...rest,
          entryType: type,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }
}
