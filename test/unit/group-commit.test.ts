import { describe, expect, it } from 'vitest';
import { mergeItems } from '../../shared/db/group-commit';
import type { TransactItem } from '../../shared/db/transact';
import { leaseAsk } from '../../shared/quotas/lease-sizing';
import type { EffectiveLimits } from '../../shared/quotas/plans';

const add = (sk: string, n: number, type = 'usage_daily'): TransactItem => ({
  Update: {
    TableName: 'usage',
    Key: { pk: 'TENANT#t', sk },
    UpdateExpression: 'SET #type = :type ADD requests :one, costNanoUsd :cost',
    ExpressionAttributeNames: { '#type': 'type' },
    ExpressionAttributeValues: { ':type': type, ':one': 1, ':cost': n },
  },
});
const put = (sk: string): TransactItem => ({
  Put: { TableName: 'usage', Item: { pk: 'TENANT#t', sk }, ConditionExpression: 'attribute_not_exists(pk)' },
});

describe('group commit: merging the items of concurrent settlements', () => {
  it('sums the ADD amounts of updates to one item and keeps every put', () => {
    const merged = mergeItems([
      put('EVENT#1'),
      add('DAY#a', 10),
      put('EVENT#2'),
      add('DAY#a', 5),
      add('DAY#b', 7),
    ]);
    expect(merged).toHaveLength(4);
    expect(merged?.[1]?.Update?.ExpressionAttributeValues).toEqual({
      ':type': 'usage_daily',
      ':one': 2,
      ':cost': 15,
    });
    expect(merged?.[3]?.Update?.ExpressionAttributeValues).toMatchObject({ ':one': 1, ':cost': 7 });
  });

  it('refuses to merge what cannot be one item: two puts of one key, or updates whose set values differ', () => {
    expect(mergeItems([put('EVENT#1'), put('EVENT#1')])).toBeUndefined();
    expect(mergeItems([add('DAY#a', 1), add('DAY#a', 1, 'other')])).toBeUndefined();
  });
});

describe('lease sizing', () => {
  const limits = (tenant: Partial<EffectiveLimits['tenant']>): EffectiveLimits => ({
    tenant: { monthlyUnits: {}, ...tenant },
    key: {},
    included: {},
  });
  const per = { requests: 1, slots: 1, tokens: 10, units: { input_tokens: 10 }, costNanoUsd: 100 };
  const none = { requests: 0, slots: 0, tokens: 0, units: {}, costNanoUsd: 0 };

  it('asks for headroom, cut to an eighth of a limit', () => {
    expect(leaseAsk(limits({ requestsPerMinute: 1_000 }), per, per, 64, undefined)).toMatchObject({
      requests: 65,
      tokens: 650,
    });
    expect(leaseAsk(limits({ requestsPerMinute: 80 }), per, per, 64, undefined).requests).toBe(11);
  });

  it('shrinks to the bare deficit near a limit: what is left, or a spend cap smaller than a few requests', () => {
    const view = {
      counters: { tenant: { requests: 97, tokens: 0 } },
      grantedAtRead: none,
    };
    expect(leaseAsk(limits({ requestsPerMinute: 100 }), per, per, 64, view)).toMatchObject({
      requests: 1,
      tokens: 10,
    });
    expect(leaseAsk(limits({ spendCapNanoUsd: 700 }), per, per, 64, undefined)).toMatchObject({
      requests: 1,
      costNanoUsd: 100,
    });
  });
});
