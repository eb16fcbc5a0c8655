import { BatchGetCommand, type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../db/keys';
import { queryAll } from '../db/query';
import { shardOf } from '../db/shard';
import { PLATFORM_SHARDS } from '../metering/platform-usage';
import type { Units } from '../metering/pricing';
import { billingUnits, type EffectiveLimits } from './plans';
import type { MonthUse, Peek, Reservation } from './quota-types';
import { windowsAt } from './windows';

/** Reads of the quota counters: for headers, alerts, the console and the sweeper's checks. */
export class QuotaReads {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly mainTable: string,
    private readonly usageTable: string,
  ) {}

  /**
   * The minute windows (for the rate-limit headers) and the month (for the usage alerts) as
   * counted: reservations and leases included. With `project` (a project with limits of its own),
   * its minute window and month cost too, in the same BatchGet.
   */
  async peek(
    tenantId: string,
    keyId: string,
    now: Date,
    opts: { credit?: boolean; project?: EffectiveLimits['project'] } = {},
  ): Promise<Peek> {
    const w = windowsAt(now);
    const tk = keys.quotaMinute(tenantId, w.minute);
    const kk = keys.quotaKeyMinute(tenantId, keyId, w.minute);
    const mk = keys.quotaMonth(tenantId, w.month);
    const ck = keys.creditBalance(tenantId);
    const p = opts.project;
    const pk = p && keys.quotaProjectMinute(tenantId, p.id, w.minute);
    const pm = p?.spendCapNanoUsd !== undefined ? keys.quotaProjectMonth(tenantId, p.id, w.month) : undefined;
    const wanted = [tk, kk, mk];
    // The credit balance only for a prepaid tenant (a lease's sizing reads it).
    if (opts.credit) wanted.push(ck);
    if (pk && (p.requestsPerMinute !== undefined || p.tokensPerMinute !== undefined)) wanted.push(pk);
    if (pm) wanted.push(pm);
    const out = await this.doc.send(
      new BatchGetCommand({
        RequestItems: { [this.mainTable]: { Keys: wanted, ConsistentRead: true } },
      }),
    );
    const found = out.Responses?.[this.mainTable] ?? [];
    const pick = (k: { sk: string }) => {
      const item = found.find((i) => i.sk === k.sk);
      return item ? { requests: Number(item.requests ?? 0), tokens: Number(item.tokens ?? 0) } : undefined;
    };
    const credit = found.find((i) => i.pk === ck.pk && i.sk === ck.sk);
    const projectMonth = pm && found.find((i) => i.sk === pm.sk);
    return {
      tenant: pick(tk),
      key: pick(kk),
      ...(pk && pick(pk) ? { project: pick(pk) } : {}),
      ...(pm ? { projectMonth: Number(projectMonth?.costNanoUsd ?? 0) } : {}),
      month: monthUse(found.find((i) => i.sk === mk.sk)),
      ...(credit ? { credit: Number(credit.available ?? 0) } : {}),
    };
  }

  /**
   * A month's use (this month by default) as billed: the tenant's month total that the usage
   * consumer keeps from the usage records (as fresh as the consumer; capacity that leases and
   * reservations hold is not use).
   */
  async month(tenantId: string, now: Date, month = windowsAt(now).month): Promise<MonthUse> {
    const k = keys.platformTenantMonth(month, shardOf(tenantId, PLATFORM_SHARDS), tenantId);
    const out = await this.doc.send(
      new GetCommand({ TableName: this.usageTable, Key: k, ConsistentRead: true }),
    );
    const item = out.Item;
    const units: Units = {};
    if (item) {
      units.input_tokens = Number(item.inputTokens ?? 0);
      units.output_tokens = Number(item.outputTokens ?? 0);
      units.images = Number(item.images ?? 0);
    }
    return { units, costNanoUsd: Number(item?.costNanoUsd ?? 0) };
  }

  /** A tenant's open reservations and leases (requests in flight, or lost and awaiting the sweeper). */
  async openReservations(tenantId: string): Promise<Reservation[]> {
    const items = await queryAll(this.doc, {
      TableName: this.mainTable,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
      ExpressionAttributeValues: {
        ':pk': keys.quotaInFlight(tenantId).pk,
        ':p': keys.reservationPrefix(),
      },
      ConsistentRead: true,
    });
    return items as unknown as Reservation[];
  }

  /** Requests a tenant has in flight, as counted (0 when none or never counted; leased slots included). */
  async inFlight(tenantId: string): Promise<number> {
    const out = await this.doc.send(
      new BatchGetCommand({
        RequestItems: { [this.mainTable]: { Keys: [keys.quotaInFlight(tenantId)], ConsistentRead: true } },
      }),
    );
    return Number(out.Responses?.[this.mainTable]?.[0]?.inflight ?? 0);
  }
}

export function monthUse(item: Record<string, unknown> | undefined): MonthUse {
  const units: Units = {};
  for (const u of billingUnits) if (item?.[u] !== undefined) units[u] = Number(item[u]);
  return { units, costNanoUsd: Number(item?.costNanoUsd ?? 0) };
}
