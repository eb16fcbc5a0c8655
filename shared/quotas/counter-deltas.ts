import { keys } from '../db/keys';
import type { TransactItem } from '../db/transact';
import { billingUnits } from './plans';
import type { Amount } from './quota-types';

/** Where a reservation's or a lease's counters live, and which of them it moved. */
export interface CounterTarget {
  tenantId: string;
  keyId: string;
  minute: string;
  month: string;
  tenantMinute: boolean;
  keyMinute: boolean;
  inFlight: boolean;
  keyMonth?: boolean;
  /** The tenant's credit balance (prepaid). */
  credit?: boolean;
  /** The key's project, whose minute window and month cost are moved when flagged. */
  projectId?: string;
  projectMinute?: boolean;
  projectMonth?: boolean;
}

/**
 * Unconditional counter updates that move every counter `target` holds by `delta` (negative to
 * give back): settling a reservation to its actual use, releasing it, or returning what a lease
 * did not use. The month is always written (it is always counted).
 */
export function counterDeltaItems(table: string, target: CounterTarget, delta: Amount): TransactItem[] {
  const items: TransactItem[] = [];
  const minute = (k: { pk: string; sk: string }): TransactItem => ({
    Update: {
      TableName: table,
      Key: k,
      UpdateExpression: 'ADD tokens :d, requests :r',
      ExpressionAttributeValues: { ':d': delta.tokens, ':r': delta.requests },
    },
  });
  const minuteMoves = delta.tokens !== 0 || delta.requests !== 0;
  if (target.tenantMinute && minuteMoves)
    items.push(minute(keys.quotaMinute(target.tenantId, target.minute)));
  if (target.keyMinute && minuteMoves)
    items.push(minute(keys.quotaKeyMinute(target.tenantId, target.keyId, target.minute)));
  if (target.projectMinute && target.projectId && minuteMoves)
    items.push(minute(keys.quotaProjectMinute(target.tenantId, target.projectId, target.minute)));
  const names: Record<string, string> = { '#cost': 'costNanoUsd' };
  const values: Record<string, unknown> = { ':cost': delta.costNanoUsd };
  const adds = ['#cost :cost'];
  for (const u of billingUnits) {
    names[`#${u}`] = u;
    values[`:${u}`] = delta.units[u] ?? 0;
    adds.push(`#${u} :${u}`);
  }
  items.push({
    Update: {
      TableName: table,
      Key: keys.quotaMonth(target.tenantId, target.month),
      UpdateExpression: `ADD ${adds.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  });
  if (target.keyMonth && delta.costNanoUsd !== 0) {
    items.push({
      Update: {
        TableName: table,
        Key: keys.quotaKeyMonth(target.tenantId, target.keyId, target.month),
        UpdateExpression: 'ADD #cost :cost',
        ExpressionAttributeNames: { '#cost': 'costNanoUsd' },
        ExpressionAttributeValues: { ':cost': delta.costNanoUsd },
      },
    });
  }
  if (target.projectMonth && target.projectId && delta.costNanoUsd !== 0) {
    items.push({
      Update: {
        TableName: table,
        Key: keys.quotaProjectMonth(target.tenantId, target.projectId, target.month),
        UpdateExpression: 'ADD #cost :cost',
        ExpressionAttributeNames: { '#cost': 'costNanoUsd' },
        ExpressionAttributeValues: { ':cost': delta.costNanoUsd },
      },
    });
  }
  if (target.credit && delta.costNanoUsd !== 0) {
    // Cost given back (negative delta) returns to the balance; more use takes from it.
    items.push({
      Update: {
        TableName: table,
        Key: keys.creditBalance(target.tenantId),
        UpdateExpression: 'ADD available :neg, debit :cost',
        ExpressionAttributeValues: { ':neg': -delta.costNanoUsd, ':cost': delta.costNanoUsd },
      },
    });
  }
  if (target.inFlight && delta.slots !== 0) {
    items.push({
      Update: {
        TableName: table,
        Key: keys.quotaInFlight(target.tenantId),
        UpdateExpression: 'ADD inflight :n',
        ExpressionAttributeValues: { ':n': delta.slots },
      },
    });
  }
  return items;
}

/** `a - b`, field by field. */
export function minus(a: Amount, b: Amount): Amount {
  const units: Amount['units'] = {};
  for (const u of billingUnits) {
    const d = (a.units[u] ?? 0) - (b.units[u] ?? 0);
    if (d !== 0 || a.units[u] !== undefined || b.units[u] !== undefined) units[u] = d;
  }
  return {
    requests: a.requests - b.requests,
    slots: a.slots - b.slots,
    tokens: a.tokens - b.tokens,
    costNanoUsd: a.costNanoUsd - b.costNanoUsd,
    units,
  };
}

export function plus(a: Amount, b: Amount): Amount {
  return minus(a, minus(zero(), b));
}

export function zero(): Amount {
  return { requests: 0, slots: 0, tokens: 0, costNanoUsd: 0, units: {} };
}
