import { type DynamoDBDocumentClient, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../db/keys';
import type { Units } from './pricing';

const MAX_CONFLICT_ATTEMPTS = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isTransactionConflict(err: unknown): boolean {
  const e = err as Error & { CancellationReasons?: { Code?: string }[] };
  return (
    e.name === 'TransactionConflictException' ||
    (e.name === 'TransactionCanceledException' &&
      (e.CancellationReasons ?? []).some((r) => r.Code === 'TransactionConflict'))
  );
}

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
    // Concurrent requests of one key share a daily aggregate; DynamoDB cancels transactions that
    // touch an item another transaction holds. Retrying is safe: the event's condition makes a
    // repeat of an already-committed write a `duplicate`, never a second count.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.recordOnce(event);
      } catch (err) {
        if (!isTransactionConflict(err) || attempt >= MAX_CONFLICT_ATTEMPTS) throw err;
        await sleep(Math.random() * Math.min(5 * 2 ** attempt, 200));
      }
    }
  }

  private async recordOnce(event: UsageEvent): Promise<RecordResult> {
    const day = event.at.slice(0, 10);
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: { ...keys.usageEvent(event.tenantId, event.requestId), type: 'usage_event', ...event },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: this.table,
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
          ],
        }),
      );
      return 'recorded';
    } catch (err) {
      const e = err as Error & { CancellationReasons?: { Code?: string }[] };
      if (
        e.name === 'TransactionCanceledException' &&
        e.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
      ) {
        return 'duplicate';
      }
      throw err;
    }
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

  /** Usage events of one tenant (for reconciliation and tests), oldest first. */
  async listEvents(tenantId: string): Promise<UsageEvent[]> {
    const events: UsageEvent[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
          ExpressionAttributeValues: { ':pk': keys.tenant(tenantId).pk, ':p': 'EVENT#' },
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
