import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { keys } from '../db/keys';
import { type Item, type QueryInput, queryAll } from '../db/query';
import { shardOf } from '../db/shard';
import { type Channel, channelOf } from './usage-store';

/**
 * Shards of each platform-wide aggregate. The usage consumer adds each batch to the shard of its
 * day's platform aggregate that its stream shard maps to, and to each tenant's monthly total
 * (whose partition is picked by the tenant id); readers query every shard and sum. The consumer
 * writes each such item at most once per batch, not once per request.
 */
export const PLATFORM_SHARDS = 32;

export interface Counts {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  images: number;
  costNanoUsd: number;
}

/** Platform-wide usage of one model version on one day (UTC), online or batch. */
export interface PlatformDaily extends Counts {
  day: string;
  model: string;
  version: string;
  channel: Channel;
}

/** One tenant's settled usage in one month. */
export interface TenantMonthTotal extends Counts {
  tenantId: string;
  month: string;
}

function counts(item: Record<string, unknown>): Counts {
  return {
    requests: Number(item.requests ?? 0),
    inputTokens: Number(item.inputTokens ?? 0),
    outputTokens: Number(item.outputTokens ?? 0),
    images: Number(item.images ?? 0),
    costNanoUsd: Number(item.costNanoUsd ?? 0),
  };
}

export function addCounts(into: Counts, from: Counts): void {
  into.requests += from.requests;
  into.inputTokens += from.inputTokens;
  into.outputTokens += from.outputTokens;
  into.images += from.images;
  into.costNanoUsd += from.costNanoUsd;
}

/** Usage across every tenant, for operators. Reads are Queries per shard, never a Scan. */
export class PlatformUsageStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Usage per day x model version x channel for days in [from, to] (YYYY-MM-DD): one Query per
   * shard, summed. Online and batch are separate rows (online first).
   */
  async daily(from: string, to: string): Promise<PlatformDaily[]> {
    const pages = await Promise.all(
      Array.from({ length: PLATFORM_SHARDS }, (_, shard) =>
        this.queryAll({
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': keys.platformDailyShard(shard),
            ':from': `DAY#${from}`,
            ':to': `DAY#${to}~`,
          },
        }),
      ),
    );
    const rows = new Map<string, PlatformDaily>();
    for (const item of pages.flat()) {
      const channel = channelOf(item);
      const id = `${item.day}#${item.model}#${item.version}#${channel}`;
      const row = rows.get(id) ?? {
        day: item.day as string,
        model: item.model as string,
        version: item.version as string,
        channel,
        ...counts({}),
      };
      addCounts(row, counts(item));
      rows.set(id, row);
    }
    return [...rows.values()].sort((a, b) =>
      a.day === b.day
        ? `${a.model}@${a.version}`.localeCompare(`${b.model}@${b.version}`) ||
          (a.channel === b.channel ? 0 : a.channel === 'online' ? -1 : 1)
        : a.day < b.day
          ? -1
          : 1,
    );
  }

  /**
   * Every tenant with settled usage in a month (`2026-11`), with its totals: one Query per shard.
   * Reads grow with the number of tenants active that month (about 100 bytes each).
   */
  async tenantsInMonth(month: string): Promise<TenantMonthTotal[]> {
    const pages = await Promise.all(
      Array.from({ length: PLATFORM_SHARDS }, (_, shard) =>
        this.queryAll({
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': keys.platformTenantMonthShard(month, shard) },
        }),
      ),
    );
    return pages.flat().map((item) => ({ tenantId: item.tenantId as string, month, ...counts(item) }));
  }

  /** One tenant's settled month total (one GetItem), or zeros. */
  async tenantMonth(tenantId: string, month: string): Promise<TenantMonthTotal> {
    const k = keys.platformTenantMonth(month, shardOf(tenantId, PLATFORM_SHARDS), tenantId);
    const out = await this.doc.send(
      new BatchGetCommand({ RequestItems: { [this.table]: { Keys: [k], ConsistentRead: true } } }),
    );
    return { tenantId, month, ...counts(out.Responses?.[this.table]?.[0] ?? {}) };
  }

  private queryAll(input: Omit<QueryInput, 'TableName'>): Promise<Item[]> {
    return queryAll(this.doc, { TableName: this.table, ...input });
  }
}
