import { BatchGetCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { BillingUnit } from '../catalog/types';
import { keys } from '../db/keys';
import { shardOf } from '../db/shard';
import { type TransactItem, transact } from '../db/transact';
import type { Units } from '../metering/pricing';
import { type UsageEvent, usageEventItems } from '../metering/usage-store';
import { billingUnits, type EffectiveLimits } from './plans';
import { windowsAt } from './windows';

/** Which limit refused a request; each is its own error code. */
export type LimitCode =
  | 'rate_limit_requests'
  | 'rate_limit_tokens'
  | 'quota_exceeded'
  | 'spend_cap_reached'
  | 'concurrency_limit';

/** The worst case a request may use, reserved before the model is called. */
export interface ReservationRequest {
  tenantId: string;
  keyId: string;
  requestId: string;
  now: Date;
  limits: EffectiveLimits;
  /** Tokens counted against per-minute token limits (input + max output; 0 for images). */
  tokens: number;
  units: Units;
  costNanoUsd: number;
  /** After this long an unsettled reservation (a crashed process) is released by the sweeper. */
  ttlMs: number;
}

export interface Reservation {
  tenantId: string;
  keyId: string;
  requestId: string;
  minute: string;
  month: string;
  tokens: number;
  units: Units;
  costNanoUsd: number;
  expiresAt: string;
  tenantMinute: boolean;
  keyMinute: boolean;
  inFlight: boolean;
  /** Whether the key's own month cost counter was moved (keys with a monthly spend cap). */
  keyMonth?: boolean;
}

export type ReserveResult =
  | { ok: true; reservation: Reservation }
  | {
      ok: false;
      limit: LimitCode;
      scope: 'tenant' | 'key';
      retryAfterSec: number;
      limitValue: number;
      /** For `quota_exceeded`: the unit whose included amount is used up. */
      unit?: BillingUnit;
      /** For monthly limits: what the month had used when the request was refused. */
      used?: number;
    };

/** The actual use, known after the model answered. */
export interface Actual {
  tokens: number;
  units: Units;
  costNanoUsd: number;
}

export const RESERVATION_SHARDS = 8;
const UNITS = billingUnits;
const DAY_S = 86_400;

/**
 * Quota counters in DynamoDB, shared by every gateway instance. A reservation is ONE transaction
 * of conditional updates over every counter that applies (tenant and key minute windows, the
 * month, requests in flight) plus the reservation item: either every counter moves or none does,
 * so concurrent requests cannot overshoot and a refusal by one limit leaves the others untouched.
 * Settlement is one transaction too: counters corrected to the actual use, the reservation
 * deleted, and the usage event and daily aggregate written, all or nothing.
 */
export class QuotaStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly mainTable: string,
    private readonly usageTable: string,
  ) {}

  async reserve(req: ReservationRequest): Promise<ReserveResult> {
    const w = windowsAt(req.now);
    const { tenant, key } = req.limits;
    // A request larger than a whole window's allowance can never pass: say so without touching anything.
    const tooBig = this.impossible(req);
    if (tooBig) return tooBig;

    const reservation: Reservation = {
      tenantId: req.tenantId,
      keyId: req.keyId,
      requestId: req.requestId,
      minute: w.minute,
      month: w.month,
      tokens: req.tokens,
      units: req.units,
      costNanoUsd: req.costNanoUsd,
      expiresAt: new Date(req.now.getTime() + req.ttlMs).toISOString(),
      tenantMinute: tenant.requestsPerMinute !== undefined || tenant.tokensPerMinute !== undefined,
      keyMinute: key.requestsPerMinute !== undefined || key.tokensPerMinute !== undefined,
      inFlight: tenant.maxConcurrent !== undefined,
      keyMonth: key.spendCapNanoUsd !== undefined,
    };
    const minuteTtl = Math.floor(req.now.getTime() / 1000) + 180;
    const items: { item: TransactItem; on: (old: Record<string, unknown> | undefined) => ReserveResult }[] =
      [];

    const minuteItem = (
      k: { pk: string; sk: string },
      rpm: number | undefined,
      tpm: number | undefined,
      scope: 'tenant' | 'key',
    ) => {
      const cond: string[] = [];
      const values: Record<string, unknown> = {
        ':one': 1,
        ':tok': req.tokens,
        ':ttl': minuteTtl,
        ':type': 'quota_counter',
      };
      if (rpm !== undefined) {
        cond.push('(attribute_not_exists(requests) OR requests <= :rmax)');
        values[':rmax'] = rpm - 1;
      }
      if (tpm !== undefined) {
        cond.push('(attribute_not_exists(tokens) OR tokens <= :tmax)');
        values[':tmax'] = tpm - req.tokens;
      }
      items.push({
        item: {
          Update: {
            TableName: this.mainTable,
            Key: k,
            UpdateExpression: 'SET #type = :type, #ttl = :ttl ADD requests :one, tokens :tok',
            ConditionExpression: cond.join(' AND '),
            ExpressionAttributeNames: { '#type': 'type', '#ttl': 'ttl' },
            ExpressionAttributeValues: values,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        on: (old) => {
          const requestsFull = rpm !== undefined && Number(old?.requests ?? 0) > rpm - 1;
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
    if (reservation.tenantMinute) {
      minuteItem(
        keys.quotaMinute(req.tenantId, w.minute),
        tenant.requestsPerMinute,
        tenant.tokensPerMinute,
        'tenant',
      );
    }
    if (reservation.keyMinute) {
      minuteItem(
        keys.quotaKeyMinute(req.tenantId, req.keyId, w.minute),
        key.requestsPerMinute,
        key.tokensPerMinute,
        'key',
      );
    }

    // The month: always counted (alerts and the console read it), conditional where limited.
    {
      const cond: string[] = [];
      const names: Record<string, string> = { '#type': 'type', '#cost': 'costNanoUsd' };
      const values: Record<string, unknown> = { ':type': 'quota_counter', ':cost': req.costNanoUsd };
      const adds = ['#cost :cost'];
      for (const u of UNITS) {
        const n = req.units[u] ?? 0;
        names[`#${u}`] = u;
        values[`:${u}`] = n;
        adds.push(`#${u} :${u}`);
        const cap = tenant.monthlyUnits[u];
        if (cap !== undefined && n > 0) {
          cond.push(`(attribute_not_exists(#${u}) OR #${u} <= :max_${u})`);
          values[`:max_${u}`] = cap - n;
        }
      }
      if (tenant.spendCapNanoUsd !== undefined && req.costNanoUsd > 0) {
        cond.push('(attribute_not_exists(#cost) OR #cost <= :maxcost)');
        values[':maxcost'] = tenant.spendCapNanoUsd - req.costNanoUsd;
      }
      items.push({
        item: {
          Update: {
            TableName: this.mainTable,
            Key: keys.quotaMonth(req.tenantId, w.month),
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
          if (tenant.spendCapNanoUsd !== undefined && spent > tenant.spendCapNanoUsd - req.costNanoUsd) {
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
              return cap !== undefined && Number(old?.[u] ?? 0) > cap - (req.units[u] ?? 0);
            }) ?? UNITS.find((u) => (req.units[u] ?? 0) > 0);
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

    if (reservation.keyMonth) {
      const cap = key.spendCapNanoUsd!;
      items.push({
        item: {
          Update: {
            TableName: this.mainTable,
            Key: keys.quotaKeyMonth(req.tenantId, req.keyId, w.month),
            UpdateExpression: 'SET #type = :type ADD #cost :cost',
            ConditionExpression: 'attribute_not_exists(#cost) OR #cost <= :maxcost',
            ExpressionAttributeNames: { '#type': 'type', '#cost': 'costNanoUsd' },
            ExpressionAttributeValues: {
              ':type': 'quota_counter',
              ':cost': req.costNanoUsd,
              ':maxcost': cap - req.costNanoUsd,
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

    if (reservation.inFlight) {
      items.push({
        item: {
          Update: {
            TableName: this.mainTable,
            Key: keys.quotaInFlight(req.tenantId),
            UpdateExpression: 'SET #type = :type ADD inflight :one',
            ConditionExpression: 'attribute_not_exists(inflight) OR inflight <= :max',
            ExpressionAttributeNames: { '#type': 'type' },
            ExpressionAttributeValues: {
              ':type': 'quota_counter',
              ':one': 1,
              ':max': tenant.maxConcurrent! - 1,
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

    items.push({
      item: {
        Put: {
          TableName: this.mainTable,
          Item: {
            ...keys.reservation(req.tenantId, req.requestId),
            type: 'reservation',
            gsi1pk: keys.reservationIndex(shardOf(req.requestId, RESERVATION_SHARDS)),
            gsi1sk: `${reservation.expiresAt}#${req.requestId}`,
            // A last resort only: the sweeper releases long before TTL would delete it.
            ttl: Math.floor(Date.parse(reservation.expiresAt) / 1000) + DAY_S,
            ...reservation,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      on: () => {
        throw new Error(`reservation for ${req.requestId} already exists`);
      },
    });

    const result = await transact(
      this.doc,
      items.map((i) => i.item),
    );
    if (result.ok) return { ok: true, reservation };
    const failed = result.reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
    return items[failed]!.on(result.reasons[failed]?.Item);
  }

  /**
   * Corrects the counters to the actual use and writes the usage event, in one transaction.
   * If the sweeper already released the reservation (the model took longer than the reservation's
   * life), the actual use is counted in full instead; if the request id was already settled,
   * nothing changes. Returns whether this call recorded the usage.
   */
  async settle(r: Reservation, actual: Actual, event: UsageEvent): Promise<'recorded' | 'duplicate'> {
    const withReservation = await transact(this.doc, [
      this.deleteReservation(r),
      ...this.adjust(r, actual, { release: true }),
      ...usageEventItems(this.usageTable, event),
    ]);
    if (withReservation.ok) return 'recorded';
    const unreserved = await transact(this.doc, [
      ...this.adjust(r, actual, { release: false }),
      ...usageEventItems(this.usageTable, event),
    ]);
    return unreserved.ok ? 'recorded' : 'duplicate';
  }

  /** Gives back everything a reservation held (the model failed). False if it was already released. */
  async release(r: Reservation): Promise<boolean> {
    const zero: Actual = { tokens: 0, units: {}, costNanoUsd: 0 };
    const result = await transact(this.doc, [
      this.deleteReservation(r),
      ...this.adjust(r, zero, { release: true }),
    ]);
    return result.ok;
  }

  /** Releases every reservation that expired before `now` (crashed or lost requests). Returns how many. */
  async sweepExpired(now: Date): Promise<number> {
    let released = 0;
    for (let shard = 0; shard < RESERVATION_SHARDS; shard++) {
      let cursor: Record<string, unknown> | undefined;
      do {
        const out = await this.doc.send(
          new QueryCommand({
            TableName: this.mainTable,
            IndexName: 'gsi1',
            KeyConditionExpression: 'gsi1pk = :p AND gsi1sk < :now',
            ExpressionAttributeValues: { ':p': keys.reservationIndex(shard), ':now': now.toISOString() },
            ExclusiveStartKey: cursor,
          }),
        );
        for (const item of out.Items ?? []) {
          if (await this.release(item as unknown as Reservation)) released++;
        }
        cursor = out.LastEvaluatedKey;
      } while (cursor);
    }
    return released;
  }

  /**
   * The counters a request reports, read in one BatchGet while the model runs: the minute windows
   * (for the rate-limit headers) and the month (for the usage alerts), reservations included.
   */
  async peek(tenantId: string, keyId: string, now: Date): Promise<Peek> {
    const w = windowsAt(now);
    const tk = keys.quotaMinute(tenantId, w.minute);
    const kk = keys.quotaKeyMinute(tenantId, keyId, w.minute);
    const mk = keys.quotaMonth(tenantId, w.month);
    const out = await this.doc.send(
      new BatchGetCommand({ RequestItems: { [this.mainTable]: { Keys: [tk, kk, mk] } } }),
    );
    const found = out.Responses?.[this.mainTable] ?? [];
    const pick = (k: { sk: string }) => {
      const item = found.find((i) => i.sk === k.sk);
      return item ? { requests: Number(item.requests ?? 0), tokens: Number(item.tokens ?? 0) } : undefined;
    };
    return { tenant: pick(tk), key: pick(kk), month: monthUse(found.find((i) => i.sk === mk.sk)) };
  }

  /** A month's counters (units and cost, reservations included); this month by default. */
  async month(tenantId: string, now: Date, month = windowsAt(now).month): Promise<MonthUse> {
    const out = await this.doc.send(
      new BatchGetCommand({
        RequestItems: { [this.mainTable]: { Keys: [keys.quotaMonth(tenantId, month)] } },
      }),
    );
    return monthUse(out.Responses?.[this.mainTable]?.[0]);
  }

  /** A tenant's open reservations (requests in flight, or lost and awaiting the sweeper). */
  async openReservations(tenantId: string): Promise<Reservation[]> {
    const out: Reservation[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.mainTable,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
          ExpressionAttributeValues: {
            ':pk': keys.quotaInFlight(tenantId).pk,
            ':p': keys.reservationPrefix(),
          },
          ConsistentRead: true,
          ExclusiveStartKey: cursor,
        }),
      );
      out.push(...((page.Items ?? []) as unknown as Reservation[]));
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    return out;
  }

  /** Requests a tenant has in flight, as counted (0 when none or never counted). */
  async inFlight(tenantId: string): Promise<number> {
    const out = await this.doc.send(
      new BatchGetCommand({
        RequestItems: { [this.mainTable]: { Keys: [keys.quotaInFlight(tenantId)], ConsistentRead: true } },
      }),
    );
    return Number(out.Responses?.[this.mainTable]?.[0]?.inflight ?? 0);
  }

  private impossible(req: ReservationRequest): ReserveResult | undefined {
    const { tenant, key } = req.limits;
    const w = windowsAt(req.now);
    for (const [scope, tpm] of [
      ['tenant', tenant.tokensPerMinute],
      ['key', key.tokensPerMinute],
    ] as const) {
      if (tpm !== undefined && req.tokens > tpm) {
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
      if (cap !== undefined && (req.units[u] ?? 0) > cap) {
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
      ['key', key.spendCapNanoUsd],
    ] as const) {
      if (cap !== undefined && req.costNanoUsd > cap) {
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

  private deleteReservation(r: Reservation): TransactItem {
    return {
      Delete: {
        TableName: this.mainTable,
        Key: keys.reservation(r.tenantId, r.requestId),
        ConditionExpression: 'attribute_exists(pk)',
      },
    };
  }

  /** Counter updates that move each counter from the reserved amount (or nothing) to the actual. */
  private adjust(r: Reservation, actual: Actual, opts: { release: boolean }): TransactItem[] {
    const base = (n: number, reserved: number) => n - (opts.release ? reserved : 0);
    const items: TransactItem[] = [];
    const tokenDelta = base(actual.tokens, r.tokens);
    const minute = (k: { pk: string; sk: string }) => ({
      Update: {
        TableName: this.mainTable,
        Key: k,
        UpdateExpression: 'ADD tokens :d',
        ExpressionAttributeValues: { ':d': tokenDelta },
      },
    });
    if (r.tenantMinute && tokenDelta !== 0) items.push(minute(keys.quotaMinute(r.tenantId, r.minute)));
    if (r.keyMinute && tokenDelta !== 0)
      items.push(minute(keys.quotaKeyMinute(r.tenantId, r.keyId, r.minute)));
    const names: Record<string, string> = { '#cost': 'costNanoUsd' };
    const values: Record<string, unknown> = { ':cost': base(actual.costNanoUsd, r.costNanoUsd) };
    const adds = ['#cost :cost'];
    for (const u of UNITS) {
      names[`#${u}`] = u;
      values[`:${u}`] = base(actual.units[u] ?? 0, r.units[u] ?? 0);
      adds.push(`#${u} :${u}`);
    }
    items.push({
      Update: {
        TableName: this.mainTable,
        Key: keys.quotaMonth(r.tenantId, r.month),
        UpdateExpression: `ADD ${adds.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    });
    const costDelta = base(actual.costNanoUsd, r.costNanoUsd);
    if (r.keyMonth && costDelta !== 0) {
      items.push({
        Update: {
          TableName: this.mainTable,
          Key: keys.quotaKeyMonth(r.tenantId, r.keyId, r.month),
          UpdateExpression: 'ADD #cost :cost',
          ExpressionAttributeNames: { '#cost': 'costNanoUsd' },
          ExpressionAttributeValues: { ':cost': costDelta },
        },
      });
    }
    if (r.inFlight && opts.release) {
      items.push({
        Update: {
          TableName: this.mainTable,
          Key: keys.quotaInFlight(r.tenantId),
          UpdateExpression: 'ADD inflight :minus',
          ExpressionAttributeValues: { ':minus': -1 },
        },
      });
    }
    return items;
  }
}

export interface MinuteCount {
  requests: number;
  tokens: number;
}

/** A month's counted use. */
export interface MonthUse {
  units: Units;
  costNanoUsd: number;
}

export interface Peek {
  tenant?: MinuteCount;
  key?: MinuteCount;
  month?: MonthUse;
}

function monthUse(item: Record<string, unknown> | undefined): MonthUse {
  const units: Units = {};
  for (const u of UNITS) if (item?.[u] !== undefined) units[u] = Number(item[u]);
  return { units, costNanoUsd: Number(item?.costNanoUsd ?? 0) };
}
