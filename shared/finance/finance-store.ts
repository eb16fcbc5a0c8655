import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditActor, AuditLog } from '../accounts/audit-log';
import { keys } from '../db/keys';
import { transact } from '../db/transact';
import { type CreditFinance, readCreditFinance } from './credit-counters';

export interface IssuedRecord {
  /** The request's idempotency key (deterministic: see the refunds route): one record per key. */
  key: string;
  /** The provider's object: `re_...` or `cn_...`. */
  objectId: string;
  kind: 'refund' | 'credit_note';
  tenantId: string;
  /** What it was issued against: a payment intent or an invoice. */
  against: string;
  amountCents: number;
  reason: string | null;
}

/** The finance page's reads (the credit ledger's monthly totals) and the record of what operators issued. */
export class FinanceStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly audit: AuditLog,
  ) {}

  credit(fromMonth: string, toMonth: string): Promise<CreditFinance> {
    return readCreditFinance(this.doc, this.table, fromMonth, toMonth);
  }

  /** What an earlier request with the same idempotency key issued, if any. */
  async issued(key: string): Promise<(IssuedRecord & { at: string }) | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keys.financeRecord(key), ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const { pk: _pk, sk: _sk, type: _type, auditId: _a, ...rest } = out.Item;
    return rest as IssuedRecord & { at: string };
  }

  /**
   * Notes a refund or credit note the provider made, with its audit entry, once per idempotency key
   * (a retried request gets the same object back from the provider's idempotency: it is recorded
   * and audited the first time only). Returns whether this call recorded it.
   */
  async record(
    r: IssuedRecord,
    actor: AuditActor,
    requestId: string | null,
    now: Date,
  ): Promise<'recorded' | 'already'> {
    const entry = this.audit.entry(
      {
        actor,
        action: r.kind === 'refund' ? 'tenant.refund' : 'tenant.credit_note',
        target: { type: 'tenant', id: r.tenantId, tenantId: r.tenantId },
        before: null,
        after: {
          id: r.objectId,
          against: r.against,
          amountCents: r.amountCents,
          currency: 'usd',
          reason: r.reason,
        },
        requestId,
      },
      now,
    );
    const out = await transact(this.doc, [
      {
        Put: {
          TableName: this.table,
          Item: {
            ...keys.financeRecord(r.key),
            type: 'finance_issued',
            ...r,
            at: now.toISOString(),
            auditId: entry.id,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      this.audit.putItem(entry),
    ]);
    return out.ok ? 'recorded' : 'already';
  }
}
