import { type DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalFailure } from '../db/conditions';
import { entity } from '../db/entity';
import { keys } from '../db/keys';
import { queryAll } from '../db/query';
import { type TransactItem, transact } from '../db/transact';

/** Bounds of one top-up (and of an auto-recharge's amount), in cents: $5.00 to $5,000.00. */
export const TOP_UP_MIN_CENTS = 500;
export const TOP_UP_MAX_CENTS = 500_000;
/** Paid credit expires this many days after its payment. */
export const PAID_CREDIT_DAYS = 365;

/** What became of a top-up or an auto-recharge attempt. */
export type TopUpStatus = 'pending' | 'paid' | 'failed';

/** A top-up through Checkout, or an auto-recharge attempt. The grant, not this, is the credit. */
export interface TopUp {
  id: string;
  tenantId: string;
  purpose: 'top_up' | 'auto_recharge';
  amountCents: number;
  status: TopUpStatus;
  createdAt: string;
  /** Checkout's session (top-ups). */
  sessionId: string | null;
  paymentId: string | null;
  grantId: string | null;
  paidAt: string | null;
  failure: { reason: string; at: string } | null;
  saveCard: boolean;
}

/** The card kept for auto-recharge: saved by a top-up with `save_card`. */
export interface SavedCard {
  paymentMethodId: string;
  customerId: string;
  brand: string;
  last4: string;
  savedAt: string;
}

export interface RechargeAttemptResult {
  id: string;
  status: 'succeeded' | 'failed';
  amountCents: number;
  at: string;
  reason: string | null;
  paymentId: string | null;
}

/** A tenant's auto-recharge: the owner's settings, the saved card, and where its attempts stand. */
export interface AutoRecharge {
  tenantId: string;
  enabled: boolean;
  /** Recharge when the balance is below this. */
  thresholdNanoUsd: number;
  amountCents: number;
  maxPerDay: number;
  card: SavedCard | null;
  /** `charging` while an attempt is between its claim and its result (a crash leaves it so: resumed). */
  state: 'idle' | 'charging';
  attempt: { id: string; day: string; seq: number; startedAt: string } | null;
  /** The UTC day `countToday` counts in. */
  day: string;
  countToday: number;
  last: RechargeAttemptResult | null;
  /** Why it was switched off by the platform (a declined recharge); null when the owner did. */
  disabledReason: string | null;
  revision: number;
  updatedAt: string | null;
}

export const NO_AUTO_RECHARGE = (tenantId: string): AutoRecharge => ({
  tenantId,
  enabled: false,
  thresholdNanoUsd: 0,
  amountCents: 0,
  maxPerDay: 0,
  card: null,
  state: 'idle',
  attempt: null,
  day: '',
  countToday: 0,
  last: null,
  disabledReason: null,
  revision: 0,
  updatedAt: null,
});

const topUpEntity = entity({
  type: 'credit_top_up',
  key: keys.creditTopUp,
  from: (i): TopUp => ({
    id: i.topUpId as string,
    tenantId: i.tenantId as string,
    purpose: (i.purpose as TopUp['purpose']) ?? 'top_up',
    amountCents: Number(i.amountCents ?? 0),
    status: (i.status as TopUpStatus) ?? 'pending',
    createdAt: (i.createdAt as string) ?? '',
    sessionId: (i.sessionId as string | undefined) ?? null,
    paymentId: (i.paymentId as string | undefined) ?? null,
    grantId: (i.grantId as string | undefined) ?? null,
    paidAt: (i.paidAt as string | undefined) ?? null,
    failure: (i.failure as TopUp['failure'] | undefined) ?? null,
    saveCard: i.saveCard === true,
  }),
});

const rechargeEntity = entity({
  type: 'auto_recharge',
  key: keys.autoRecharge,
  from: (i): AutoRecharge => ({
    tenantId: i.tenantId as string,
    enabled: i.enabled === true,
    thresholdNanoUsd: Number(i.thresholdNanoUsd ?? 0),
    amountCents: Number(i.amountCents ?? 0),
    maxPerDay: Number(i.maxPerDay ?? 0),
    card: (i.card as SavedCard | undefined) ?? null,
    state: i.state === 'charging' ? 'charging' : 'idle',
    attempt: (i.attempt as AutoRecharge['attempt'] | undefined) ?? null,
    day: (i.day as string | undefined) ?? '',
    countToday: Number(i.countToday ?? 0),
    last: (i.last as RechargeAttemptResult | undefined) ?? null,
    disabledReason: (i.disabledReason as string | undefined) ?? null,
    revision: Number(i.revision ?? 0),
    updatedAt: (i.updatedAt as string | undefined) ?? null,
  }),
});

/**
 * Top-ups and auto-recharge, beside the credit ledger. Nothing here is money: a top-up record says
 * what was asked for and what became of it; the credit is the grant made from the payment
 * (CreditStore.grant with the payment's own grant id), in the same transaction as the updates this
 * store builds (`paidItem`, `saveCardItem`).
 */
export class TopUpStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** A new top-up, before the browser goes to Checkout. */
  async create(t: Omit<TopUp, 'paymentId' | 'grantId' | 'paidAt' | 'failure' | 'status'>): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: topUpEntity.item(keys.creditTopUp(t.tenantId, t.id), {
          topUpId: t.id,
          tenantId: t.tenantId,
          purpose: t.purpose,
          amountCents: t.amountCents,
          status: 'pending',
          createdAt: t.createdAt,
          ...(t.sessionId ? { sessionId: t.sessionId } : {}),
          saveCard: t.saveCard,
        }),
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(tenantId: string, id: string): Promise<TopUp | undefined> {
    return topUpEntity.get(this.doc, this.table, keys.creditTopUp(tenantId, id), { consistent: true });
  }

  /** The newest top-ups and recharge attempts (ids are time-ordered). */
  async recent(tenantId: string, limit: number): Promise<TopUp[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        ExpressionAttributeValues: { ':pk': `TENANT#${tenantId}`, ':p': keys.creditTopUpPrefix() },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map(topUpEntity.from);
  }

  /**
   * The top-up marked paid, for the credit's transaction. Unconditional (an upsert): a payment
   * whose record was never written (a crash before it) is still recorded; a failure recorded
   * before (out of order) is overwritten, because the payment went through.
   */
  paidItem(
    tenantId: string,
    t: { id: string; purpose: TopUp['purpose']; amountCents: number; paymentId: string; grantId: string },
    paidAt: string,
  ): TransactItem {
    return {
      Update: {
        TableName: this.table,
        Key: keys.creditTopUp(tenantId, t.id),
        UpdateExpression:
          'SET #type = :type, topUpId = :id, tenantId = :t, purpose = if_not_exists(purpose, :pu), amountCents = if_not_exists(amountCents, :a), createdAt = if_not_exists(createdAt, :at), #status = :paid, paymentId = :pi, grantId = :g, paidAt = :at REMOVE failure',
        ExpressionAttributeNames: { '#type': 'type', '#status': 'status' },
        ExpressionAttributeValues: {
          ':type': 'credit_top_up',
          ':id': t.id,
          ':t': tenantId,
          ':pu': t.purpose,
          ':a': t.amountCents,
          ':at': paidAt,
          ':paid': 'paid',
          ':pi': t.paymentId,
          ':g': t.grantId,
        },
      },
    };
  }

  /** A failed payment recorded on its top-up, unless it was paid (a late or out-of-order failure changes nothing). */
  async markFailed(tenantId: string, id: string, reason: string, at: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.creditTopUp(tenantId, id),
          UpdateExpression: 'SET #status = :failed, failure = :f',
          ConditionExpression: 'attribute_exists(pk) AND #status <> :paid',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':failed': 'failed', ':paid': 'paid', ':f': { reason, at } },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalFailure(err)) return false;
      throw err;
    }
  }

  async autoRecharge(tenantId: string): Promise<AutoRecharge> {
    return (
      (await rechargeEntity.get(this.doc, this.table, keys.autoRecharge(tenantId), { consistent: true })) ??
      NO_AUTO_RECHARGE(tenantId)
    );
  }

  /** Tenants with auto-recharge on (one Query of gsi1, no Scan). */
  async autoRechargeTenants(): Promise<string[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :p',
      ExpressionAttributeValues: { ':p': keys.autoRechargeIndex() },
    });
    return items.map((i) => i.tenantId as string);
  }

  /** The card a paid top-up saved (for the credit's transaction): the last one credited wins. */
  saveCardItem(tenantId: string, card: SavedCard): TransactItem {
    return {
      Update: {
        TableName: this.table,
        Key: keys.autoRecharge(tenantId),
        // Unconditional: it must never fail the credit it rides with.
        UpdateExpression: 'SET #type = :type, tenantId = :t, card = :c ADD revision :one',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: { ':type': 'auto_recharge', ':t': tenantId, ':c': card, ':one': 1 },
      },
    };
  }

  /** The owner's settings, conditional on the revision read (for a transaction with its audit entry). */
  settingsItem(
    current: AutoRecharge,
    next: { enabled: boolean; thresholdNanoUsd: number; amountCents: number; maxPerDay: number },
    now: Date,
  ): TransactItem {
    return {
      Update: {
        TableName: this.table,
        Key: keys.autoRecharge(current.tenantId),
        UpdateExpression: `SET #type = :type, tenantId = :t, enabled = :e, thresholdNanoUsd = :th, amountCents = :a, maxPerDay = :m, updatedAt = :now, revision = :rev1${
          next.enabled
            ? ', gsi1pk = :g, gsi1sk = :t REMOVE disabledReason'
            : ' REMOVE gsi1pk, gsi1sk, disabledReason'
        }`,
        ConditionExpression:
          current.revision === 0 ? 'attribute_not_exists(revision) OR revision = :rev' : 'revision = :rev',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: {
          ':type': 'auto_recharge',
          ':t': current.tenantId,
          ':e': next.enabled,
          ':th': next.thresholdNanoUsd,
          ':a': next.amountCents,
          ':m': next.maxPerDay,
          ':now': now.toISOString(),
          ':rev': current.revision,
          ':rev1': current.revision + 1,
          ...(next.enabled ? { ':g': keys.autoRechargeIndex() } : {}),
        },
      },
    };
  }

  /** Writes `items` in one transaction: false when a condition failed (something changed meanwhile). */
  async write(items: TransactItem[]): Promise<boolean> {
    return (await transact(this.doc, items)).ok;
  }

  /**
   * Claims the next recharge attempt: the settings move from `idle` to `charging` with the
   * attempt's number for the day, conditional on the settings and the balance being as read (a
   * second trigger at once, or one that read the balance before the last recharge landed, claims
   * nothing), with the attempt's record. For one transaction with the balance's check.
   */
  claimItems(
    r: AutoRecharge,
    attempt: { id: string; day: string; seq: number; startedAt: string },
  ): TransactItem[] {
    return [
      {
        Update: {
          TableName: this.table,
          Key: keys.autoRecharge(r.tenantId),
          UpdateExpression:
            'SET #state = :charging, attempt = :att, #day = :day, countToday = :seq, revision = :rev1',
          ConditionExpression:
            'revision = :rev AND enabled = :true AND (attribute_not_exists(#state) OR #state = :idle)',
          ExpressionAttributeNames: { '#state': 'state', '#day': 'day' },
          ExpressionAttributeValues: {
            ':charging': 'charging',
            ':idle': 'idle',
            ':true': true,
            ':att': attempt,
            ':day': attempt.day,
            ':seq': attempt.seq,
            ':rev': r.revision,
            ':rev1': r.revision + 1,
          },
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: topUpEntity.item(keys.creditTopUp(r.tenantId, attempt.id), {
            topUpId: attempt.id,
            tenantId: r.tenantId,
            purpose: 'auto_recharge',
            amountCents: r.amountCents,
            status: 'pending',
            createdAt: attempt.startedAt,
            saveCard: false,
          }),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ];
  }

  /**
   * An attempt's end: back to `idle` with its result, once (conditional on this attempt being the
   * one charging). A failure switches auto-recharge off (`disabledReason`) until the owner turns it
   * on again: a declined card is not charged again and again.
   */
  async finishAttempt(
    tenantId: string,
    attemptId: string,
    result: RechargeAttemptResult,
    now: Date,
  ): Promise<boolean> {
    const failed = result.status === 'failed';
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.autoRecharge(tenantId),
          UpdateExpression: `SET #state = :idle, #last = :last, updatedAt = :now ${
            failed ? ', enabled = :false, disabledReason = :why' : ''
          } REMOVE attempt${failed ? ', gsi1pk, gsi1sk' : ''} ADD revision :one`,
          ConditionExpression: '#state = :charging AND attempt.id = :id',
          ExpressionAttributeNames: { '#state': 'state', '#last': 'last' },
          ExpressionAttributeValues: {
            ':idle': 'idle',
            ':charging': 'charging',
            ':id': attemptId,
            ':last': result,
            ':now': now.toISOString(),
            ':one': 1,
            ...(failed ? { ':false': false, ':why': 'recharge_failed' } : {}),
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalFailure(err)) return false;
      throw err;
    }
  }
}
