import { keys } from '../db/keys';
import type { TransactItem } from '../db/transact';
import { billingUnits, type EffectiveLimits } from './plans';
import type { Amount, Refusal } from './quota-types';
import { windowsAt } from './windows';

const UNITS = billingUnits;

/**
 * A counter's condition: after adding, at most its limit (`max` = limit - amount). A counter not
 * written yet counts as zero, so it passes, unless the amount alone is over the limit: then the
 * condition has no such branch and fails, item or not.
 */
function atMost(attr: string, placeholder: string, max: number): string {
  return max >= 0
    ? `(attribute_not_exists(${attr}) OR ${attr} <= ${placeholder})`
    : `${attr} <= ${placeholder}`;
}

/** Which counters a reservation or lease moves, decided by the limits that apply when it is made. */
export interface CounterFlags {
  tenantMinute: boolean;
  keyMinute: boolean;
  inFlight: boolean;
  keyMonth: boolean;
  credit: boolean;
  /** The project's minute window and month cost: only for a project with limits of its own. */
  projectMinute?: boolean;
  projectMonth?: boolean;
  /** The project whose counters are moved (set when either is). */
  projectId?: string;
}

export function counterFlags(limits: EffectiveLimits): CounterFlags {
  const { tenant, key, project } = limits;
  return {
    tenantMinute: tenant.requestsPerMinute !== undefined || tenant.tokensPerMinute !== undefined,
    keyMinute: key.requestsPerMinute !== undefined || key.tokensPerMinute !== undefined,
    inFlight: tenant.maxConcurrent !== undefined,
    keyMonth: key.spendCapNanoUsd !== undefined,
    credit: tenant.prepaid === true,
    // Nothing at all for a project without limits: its reservations and leases look as before.
    ...(project
      ? {
          projectId: project.id,
          projectMinute: project.requestsPerMinute !== undefined || project.tokensPerMinute !== undefined,
          projectMonth: project.spendCapNanoUsd !== undefined,
        }
      : {}),
  };
}

/** One conditional counter update, and what its failed condition means for the request. */
export interface GrantItem {
  item: TransactItem;
  on: (old: Record<string, unknown> | undefined) => Refusal;
}

export interface GrantScope {
  tenantId: string;
  keyId: string;
  now: Date;
  limits: EffectiveLimits;
  flags: CounterFlags;
  /**
   * Until when what is granted may admit requests (a lease's admission window; a reservation's
   * `now`): credit is granted only when no grant expires before then.
   */
  until?: Date;
}

/**
 * The conditional counter updates that take `amount` out of every limit at once: the tenant's, the
 * project's and the key's minute windows, the month (always counted; conditional where capped), the
 * key's and the project's month cost, requests in flight. A single request's reservation is `amount` with one request and one
 * slot; a lease is the same updates for a bigger amount. Each item says, if its condition fails,
 * which limit refused (read from the counter's old value).
 */
export function grantItems(table: string, s: GrantScope, amount: Amount): GrantItem[] {
  const w = windowsAt(s.now);
  const { tenant, key } = s.limits;
  const minuteTtl = Math.floor(s.now.getTime() / 1000) + 180;
  const items: GrantItem[] = [];

  const minuteItem = (
    k: { pk: string; sk: string },
    rpm: number | undefined,
    tpm: number | undefined,
    scope: 'tenant' | 'key' | 'project',
  ) => {
    const cond: string[] = [];
    const values: Record<string, unknown> = {
      ':n': amount.requests,
      ':tok': amount.tokens,
      ':ttl': minuteTtl,
      ':type': 'quota_counter',
    };
    if (rpm !== undefined) {
      cond.push(atMost('requests', ':rmax', rpm - amount.requests));
      values[':rmax'] = rpm - amount.requests;
    }
    if (tpm !== undefined) {
      cond.push(atMost('tokens', ':tmax', tpm - amount.tokens));
      values[':tmax'] = tpm - amount.tokens;
    }
    items.push({
      item: {
        Update: {
          TableName: table,
          Key: k,
          UpdateExpression: 'SET #type = :type, #ttl = :ttl ADD requests :n, tokens :tok',
          ConditionExpression: cond.join(' AND '),
          ExpressionAttributeNames: { '#type': 'type', '#ttl': 'ttl' },
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      on: (old) => {
        const requestsFull = rpm !== undefined && Number(old?.requests ?? 0) > rpm - amount.requests;
        return requestsFull
          ? {
              ok: false,
              limit: 'rate_limit_requests',
              scope,
              retryAfterSec: w.minuteResetSec,
              limitValue: rpm,
            }
          : {
              ok: false,
              limit: 'rate_limit_tokens',
              scope,
              retryAfterSec: w.minuteResetSec,
              limitValue: tpm ?? 0,
            };
      },
    });
  };
  if (s.flags.tenantMinute) {
    minuteItem(
      keys.quotaMinute(s.tenantId, w.minute),
      tenant.requestsPerMinute,
      tenant.tokensPerMinute,
      'tenant',
    );
  }
  const project = s.limits.project;
  if (s.flags.projectMinute && project) {
    minuteItem(
      keys.quotaProjectMinute(s.tenantId, project.id, w.minute),
      project.requestsPerMinute,
      project.tokensPerMinute,
      'project',
    );
  }
  if (s.flags.keyMinute) {
    minuteItem(
      keys.quotaKeyMinute(s.tenantId, s.keyId, w.minute),
      key.requestsPerMinute,
      key.tokensPerMinute,
      'key',
    );
  }

  // The month: always counted (alerts and the console read it), conditional where limited.
  {
    const cond: string[] = [];
    const names: Record<string, string> = { '#type': 'type', '#cost': 'costNanoUsd' };
    const values: Record<string, unknown> = { ':type': 'quota_counter', ':cost': amount.costNanoUsd };
    const adds = ['#cost :cost'];
    for (const u of UNITS) {
      const n = amount.units[u] ?? 0;
      names[`#${u}`] = u;
      values[`:${u}`] = n;
      adds.push(`#${u} :${u}`);
      const cap = tenant.monthlyUnits[u];
      if (cap !== undefined && n > 0) {
        cond.push(atMost(`#${u}`, `:max_${u}`, cap - n));
        values[`:max_${u}`] = cap - n;
      }
    }
    if (tenant.spendCapNanoUsd !== undefined && amount.costNanoUsd > 0) {
      cond.push(atMost('#cost', ':maxcost', tenant.spendCapNanoUsd - amount.costNanoUsd));
      values[':maxcost'] = tenant.spendCapNanoUsd - amount.costNanoUsd;
    }
    items.push({
      item: {
        Update: {
          TableName: table,
          Key: keys.quotaMonth(s.tenantId, w.month),
          UpdateExpression: `SET #type = :type ADD ${adds.join(', ')}`,
          ...(cond.length
            ? { ConditionExpression: cond.join(' AND '), ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }
            : {}),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        },
      },
      on: (old) => {
        const spent = Number(old?.costNanoUsd ?? 0);
        if (tenant.spendCapNanoUsd !== undefined && spent > tenant.spendCapNanoUsd - amount.costNanoUsd) {
          return {
            ok: false,
            limit: 'spend_cap_reached',
            scope: 'tenant',
            retryAfterSec: w.monthResetSec,
            limitValue: tenant.spendCapNanoUsd,
            used: spent,
          };
        }
        const unit =
          UNITS.find((u) => {
            const cap = tenant.monthlyUnits[u];
            return cap !== undefined && Number(old?.[u] ?? 0) > cap - (amount.units[u] ?? 0);
          }) ?? UNITS.find((u) => (amount.units[u] ?? 0) > 0);
        return {
          ok: false,
          limit: 'quota_exceeded',
          scope: 'tenant',
          retryAfterSec: w.monthResetSec,
          limitValue: unit ? (tenant.monthlyUnits[unit] ?? 0) : 0,
          ...(unit ? { unit, used: Number(old?.[unit] ?? 0) } : {}),
        };
      },
    });
  }

  if (s.flags.projectMonth && project?.spendCapNanoUsd !== undefined) {
    // The project's hard-stop budget: every key of the project moves this one counter, so however
    // many leases (one per tenant x key) its keys hold, together they never pass it.
    const cap = project.spendCapNanoUsd;
    items.push({
      item: {
        Update: {
          TableName: table,
          Key: keys.quotaProjectMonth(s.tenantId, project.id, w.month),
          UpdateExpression: 'SET #type = :type ADD #cost :cost',
          ConditionExpression: atMost('#cost', ':maxcost', cap - amount.costNanoUsd),
          ExpressionAttributeNames: { '#type': 'type', '#cost': 'costNanoUsd' },
          ExpressionAttributeValues: {
            ':type': 'quota_counter',
            ':cost': amount.costNanoUsd,
            ':maxcost': cap - amount.costNanoUsd,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      on: (old) => ({
        ok: false,
        limit: 'spend_cap_reached',
        scope: 'project',
        retryAfterSec: w.monthResetSec,
        limitValue: cap,
        used: Number(old?.costNanoUsd ?? 0),
      }),
    });
  }

  if (s.flags.keyMonth) {
    const cap = key.spendCapNanoUsd!;
    items.push({
      item: {
        Update: {
          TableName: table,
          Key: keys.quotaKeyMonth(s.tenantId, s.keyId, w.month),
          UpdateExpression: 'SET #type = :type ADD #cost :cost',
          ConditionExpression: atMost('#cost', ':maxcost', cap - amount.costNanoUsd),
          ExpressionAttributeNames: { '#type': 'type', '#cost': 'costNanoUsd' },
          ExpressionAttributeValues: {
            ':type': 'quota_counter',
            ':cost': amount.costNanoUsd,
            ':maxcost': cap - amount.costNanoUsd,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      on: (old) => ({
        ok: false,
        limit: 'spend_cap_reached',
        scope: 'key',
        retryAfterSec: w.monthResetSec,
        limitValue: cap,
        used: Number(old?.costNanoUsd ?? 0),
      }),
    });
  }

  if (s.flags.credit) {
    // The credit balance: the worst case out of what is left, never below zero, and no grant
    // expiring while this admits (an expiry due first takes its credit out: CreditStore.expireDue).
    const until = (s.until ?? s.now).toISOString();
    const now = s.now.toISOString();
    items.push({
      item: {
        Update: {
          TableName: table,
          Key: keys.creditBalance(s.tenantId),
          UpdateExpression: 'ADD available :neg, debit :cost',
          ConditionExpression: 'available >= :cost AND nextExpiry > :until',
          ExpressionAttributeValues: {
            ':neg': -amount.costNanoUsd,
            ':cost': amount.costNanoUsd,
            ':until': until,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      on: (old) => {
        const next = old?.nextExpiry as string | undefined;
        const available = Number(old?.available ?? 0);
        const expiry =
          next !== undefined && next <= until && available >= amount.costNanoUsd
            ? next <= now
              ? ('due' as const)
              : ('within' as const)
            : next !== undefined && next <= now
              ? ('due' as const)
              : Number(old?.expiring ?? 0) > 0
                ? ('settling' as const)
                : undefined;
        return {
          ok: false,
          limit: 'insufficient_balance',
          scope: 'tenant',
          retryAfterSec: 0,
          limitValue: Math.max(0, available),
          ...(expiry ? { expiry } : {}),
          credit: {
            grantedNanoUsd: Number(old?.granted ?? 0),
            exhaustedMarked: typeof old?.exhaustedAt === 'string',
          },
        };
      },
    });
  }

  if (s.flags.inFlight && amount.slots > 0) {
    items.push({
      item: {
        Update: {
          TableName: table,
          Key: keys.quotaInFlight(s.tenantId),
          UpdateExpression: 'SET #type = :type ADD inflight :n',
          ConditionExpression: atMost('inflight', ':max', tenant.maxConcurrent! - amount.slots),
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: {
            ':type': 'quota_counter',
            ':n': amount.slots,
            ':max': tenant.maxConcurrent! - amount.slots,
          },
        },
      },
      on: () => ({
        ok: false,
        limit: 'concurrency_limit',
        scope: 'tenant',
        retryAfterSec: 1,
        limitValue: tenant.maxConcurrent!,
      }),
    });
  }
  return items;
}

/** A request larger than a whole window's allowance can never pass: said without touching anything. */
export function impossible(
  limits: EffectiveLimits,
  amount: Pick<Amount, 'tokens' | 'units' | 'costNanoUsd'>,
  now: Date,
): Refusal | undefined {
  const { tenant, key, project } = limits;
  const w = windowsAt(now);
  for (const [scope, tpm] of [
    ['tenant', tenant.tokensPerMinute],
    ['project', project?.tokensPerMinute],
    ['key', key.tokensPerMinute],
  ] as const) {
    if (tpm !== undefined && amount.tokens > tpm) {
      return {
        ok: false,
        limit: 'rate_limit_tokens',
        scope,
        retryAfterSec: w.minuteResetSec,
        limitValue: tpm,
      };
    }
  }
  for (const u of UNITS) {
    const cap = tenant.monthlyUnits[u];
    if (cap !== undefined && (amount.units[u] ?? 0) > cap) {
      return {
        ok: false,
        limit: 'quota_exceeded',
        scope: 'tenant',
        retryAfterSec: w.monthResetSec,
        limitValue: cap,
        unit: u,
      };
    }
  }
  for (const [scope, cap] of [
    ['tenant', tenant.spendCapNanoUsd],
    ['project', project?.spendCapNanoUsd],
    ['key', key.spendCapNanoUsd],
  ] as const) {
    if (cap !== undefined && amount.costNanoUsd > cap) {
      return {
        ok: false,
        limit: 'spend_cap_reached',
        scope,
        retryAfterSec: w.monthResetSec,
        limitValue: cap,
      };
    }
  }
  return undefined;
}
