import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../db/keys';
import { type TransactItem, transact } from '../db/transact';
import { idBound } from '../ids';
import { platformUsageItems } from './platform-usage';
import type { Units } from './pricing';

/** One served request, as billed. Tenant and key come from the credential, never from the request. */
export interface UsageEvent {
  requestId: string;
  tenantId: string;
  keyId: string;
  model: string;
  version: string;
  units: Units;
  costNanoUsd: number;
  priceBook: string;
  latencyMs: number;
  status: 'succeeded';
  /** ISO time the request was served; its UTC date is the aggregate's day. */
  at: string;
}

export interface DailyUsage {
  day: string;
  model: string;
  version: string;
  keyId: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  images: number;
  costNanoUsd: number;
}

export type RecordResult = 'recorded' | 'duplicate';

/**
 * The usage ledger in the `usage` table. An event and its daily aggregate are written in one
 * transaction, conditional on the event not existing: a retried write (same request id) changes
 * nothing, and an aggregate never moves without its event.
 */
export class UsageStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async record(event: UsageEvent): Promise<RecordResult> {
    const result = await transact(this.doc, usageEventItems(this.table, event));
    // The only condition is the event's own: failing it means this request id is already recorded.
    return result.ok ? 'recorded' : 'duplicate';
  }

  /** Daily aggregates of one tenant for days in [from, to] (YYYY-MM-DD), oldest first. */
  async listDaily(tenantId: string, from: string, to: string): Promise<DailyUsage[]> {
    const rows: DailyUsage[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': keys.tenant(tenantId).pk,
            ':from': `${keys.usageDailyPrefix()}${from}`,
            // '~' sorts after every character a key segment uses, so the whole last day is included.
            ':to': `${keys.usageDailyPrefix()}${to}~`,
          },
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of out.Items ?? []) {
        rows.push({
          day: item.day as string,
          model: item.model as string,
          version: item.version as string,
          keyId: item.keyId as string,
          requests: (item.requests as number) ?? 0,
          inputTokens: (item.inputTokens as number) ?? 0,
          outputTokens: (item.outputTokens as number) ?? 0,
          images: (item.images as number) ?? 0,
          costNanoUsd: (item.costNanoUsd as number) ?? 0,
        });
      }
      cursor = out.LastEvaluatedKey;
    } while (cursor);
    return rows;
  }

  /**
   * Usage events of one tenant, oldest first; with `from`/`to`, only requests whose id (so whose
   * start) falls in that time range: one key-range Query, since request ids are time-ordered.
   */
  async listEvents(tenantId: string, range?: { from: number; to: number }): Promise<UsageEvent[]> {
    const events: UsageEvent[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          ...(range
            ? {
                KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
                ExpressionAttributeValues: {
                  ':pk': keys.tenant(tenantId).pk,
                  ':lo': keys.usageEvent(tenantId, idBound('req', range.from, 'low')).sk,
                  ':hi': keys.usageEvent(tenantId, idBound('req', range.to, 'high')).sk,
                },
              }
            : {
                KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
                ExpressionAttributeValues: { ':pk': keys.tenant(tenantId).pk, ':p': 'EVENT#' },
              }),
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of out.Items ?? []) {
        const { pk: _pk, sk: _sk, type: _t, ...event } = item;
        events.push(event as UsageEvent);
      }
      cursor = out.LastEvaluatedKey;
    } while (cursor);
    return events;
  }
}

/**
 * The usage event (conditional on its request id), its tenant's daily aggregate (atomic ADD) and
 * the platform's aggregates, as transaction items: `record` writes them alone, quota settlement
 * writes them with its counters. Every aggregate moves in the event's transaction or not at all.
 */
export function usageEventItems(table: string, event: UsageEvent): TransactItem[] {
  const day = event.at.slice(0, 10);
  return [
    {
      Put: {
        TableName: table,
        Item: { ...keys.usageEvent(event.tenantId, event.requestId), type: 'usage_event', ...event },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Update: {
        TableName: table,
        Key: keys.usageDaily(event.tenantId, day, event.model, event.version, event.keyId),
        UpdateExpression:
          'SET #type = :type, #day = :day, #model = :model, #version = :version, keyId = :keyId ' +
          'ADD requests :one, inputTokens :in, outputTokens :out, images :img, costNanoUsd :cost, latencyMsSum :lat',
        ExpressionAttributeNames: {
          '#type': 'type',
          '#day': 'day',
          '#model': 'model',
          '#version': 'version',
        },
        ExpressionAttributeValues: {
          ':type': 'usage_daily',
          ':day': day,
          ':model': event.model,
          ':version': event.version,
          ':keyId': event.keyId,
          ':one': 1,
          ':in': event.units.input_tokens ?? 0,
          ':out': event.units.output_tokens ?? 0,
          ':img': event.units.images ?? 0,
          ':cost': event.costNanoUsd,
          ':lat': Math.round(event.latencyMs),
        },
      },
    },
    ...platformUsageItems(table, event),
  ];
}
