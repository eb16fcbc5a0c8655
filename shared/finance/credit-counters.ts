import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type CreditKind, creditKinds } from '../credits/burn-order';
import { keys } from '../db/keys';
import { queryAll } from '../db/query';
import { shardOf } from '../db/shard';
import type { TransactItem } from '../db/transact';

/**
 * Shards of the credit ledger's monthly totals. A tenant always adds to the same shard (by a hash
 * of its id), in the same transaction as the ledger entries the amounts come from, so the totals
 * are exactly the ledger's, never counted twice or lost; 16 shards keep the tenants that share an
 * item few (a conflict between two of them is retried by `transact`), and a reader's cost is one
 * Query per shard whatever the number of tenants.
 */
export const CREDIT_FINANCE_SHARDS = 16;

/** What the ledger did with credit: granted (sold or given), burned by use, expired unused. */
export type CreditFlow = 'sold' | 'used' | 'expired';
export const creditFlows: readonly CreditFlow[] = ['sold', 'used', 'expired'];

/** Amounts (nano-USD) by flow and kind; `used` may also name `uncovered` (use no grant paid for). */
export type CreditDeltas = Map<string, number>;

const attr = (flow: CreditFlow, kind: CreditKind | null) => `${flow}_${kind ?? 'uncovered'}`;

/** Adds an amount to a set of deltas (a burn no grant covered has kind null). */
export function addDelta(d: CreditDeltas, flow: CreditFlow, kind: CreditKind | null, nanoUsd: number): void {
  if (nanoUsd === 0) return;
  const name = attr(flow, kind);
  d.set(name, (d.get(name) ?? 0) + nanoUsd);
}

export const monthOfDate = (at: Date) => at.toISOString().slice(0, 7);

/**
 * The transaction item that adds `deltas` to the tenant's shard of the month `at` falls in (the
 * month of the ledger entries it counts), or nothing when every delta is zero.
 */
export function creditFinanceItem(
  table: string,
  tenantId: string,
  at: Date,
  deltas: CreditDeltas,
): TransactItem[] {
  const entries = [...deltas.entries()].filter(([, v]) => v !== 0);
  if (entries.length === 0) return [];
  const names: Record<string, string> = { '#type': 'type', '#month': 'month' };
  const values: Record<string, unknown> = { ':type': 'credit_finance', ':month': monthOfDate(at) };
  const adds = entries.map(([name, v], i) => {
    names[`#a${i}`] = name;
    values[`:a${i}`] = v;
    return `#a${i} :a${i}`;
  });
  return [
    {
      Update: {
        TableName: table,
        Key: keys.creditFinance(shardOf(tenantId, CREDIT_FINANCE_SHARDS), monthOfDate(at)),
        UpdateExpression: `SET #type = :type, #month = :month ADD ${adds.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    },
  ];
}

export type ByKind = Record<CreditKind, number>;

export interface CreditFinance {
  /** Within the months asked for. */
  sold: ByKind;
  used: ByKind;
  expired: ByKind;
  /** Use no grant paid for (a request that outlived its hold on an exhausted balance). */
  usedUncovered: number;
  /** At the end of the last month asked for: sold - used - expired since the start, by kind. */
  outstanding: ByKind;
  /** Paid credit used, per month of the range (MRR counts it). */
  paidUsedByMonth: Map<string, number>;
}

const zero = (): ByKind => Object.fromEntries(creditKinds.map((k) => [k, 0])) as ByKind;

/**
 * The credit ledger's totals over the months [from, to] (`2026-11`), and what is outstanding at
 * the end of `to`: one Query per shard, each reading that shard's months up to `to` (a few hundred
 * bytes a month), summed. The cost does not grow with tenants or requests.
 */
export async function readCreditFinance(
  doc: DynamoDBDocumentClient,
  table: string,
  from: string,
  to: string,
): Promise<CreditFinance> {
  const pages = await Promise.all(
    Array.from({ length: CREDIT_FINANCE_SHARDS }, (_, shard) =>
      queryAll(doc, {
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND sk <= :to',
        ExpressionAttributeValues: { ':pk': keys.creditFinanceShard(shard), ':to': `MONTH#${to}` },
      }),
    ),
  );
  const out: CreditFinance = {
    sold: zero(),
    used: zero(),
    expired: zero(),
    usedUncovered: 0,
    outstanding: zero(),
    paidUsedByMonth: new Map(),
  };
  for (const item of pages.flat()) {
    const month = item.month as string;
    const inRange = month >= from && month <= to;
    const n = (name: string) => Number(item[name] ?? 0);
    for (const k of creditKinds) {
      out.outstanding[k] += n(attr('sold', k)) - n(attr('used', k)) - n(attr('expired', k));
      if (!inRange) continue;
      out.sold[k] += n(attr('sold', k));
      out.used[k] += n(attr('used', k));
      out.expired[k] += n(attr('expired', k));
    }
    if (inRange) {
      out.usedUncovered += n(attr('used', null));
      out.paidUsedByMonth.set(month, (out.paidUsedByMonth.get(month) ?? 0) + n(attr('used', 'paid')));
    }
  }
  return out;
}
