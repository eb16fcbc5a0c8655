import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { keys, USAGE_EVENT_SHARDS } from '../db/keys';
import type { TransactItem } from '../db/transact';
import { idBound } from '../ids';
import type { Units } from './pricing';

/**
 * One served request's usage record, as billed. Tenant and key come from the credential, never
 * from the request. `succeeded` records are the ledger; an `open` one is a stream still being
 * served (its units are an allowance: at least what has been sent, at most one step more); a
 * `void` one was written alongside a model call that then failed (not billed).
 */
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
  status: UsageStatus;
  /** ISO time the request was served; its UTC date is the aggregate's day. */
  at: string;
  /** The quota lease (or single reservation) the request was admitted from, if any. */
  leaseId?: string;
  /** For an `open` record: when its writer is presumed gone and the sweeper closes it. */
  expiresAt?: string;
}

export type UsageStatus = 'succeeded' | 'open' | 'void';

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
 * The usage ledger in the `usage` table: one item per request id, written by one conditional
 * PutItem (the only write a served request makes on its path); a retried write (same request id)
 * changes nothing. Daily and platform aggregates are not written here: the stream consumer
 * (`usage-consumer.ts`) derives them from these records, exactly once per change.
 */
export class UsageStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Writes a record once per request id: `duplicate` if that id is already recorded (nothing changes). */
  async record(event: UsageEvent): Promise<RecordResult> {
    // A token of this call: an SDK retry of the put carries the same one, another call another.
    const writeId = randomBytes(6).toString('base64url');
    try {
      // Marshalled here and sent as the low-level command: it is the hot path's one write, and the
      // document client's generic walk over the input is a measurable share of its cost.
      await this.doc.send(
        new PutItemCommand({
          TableName: this.table,
          Item: marshall({ ...usageEventItem(event), writeId }, { removeUndefinedValues: true }),
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'recorded';
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      // The SDK retries a put whose answer was lost; if the first attempt landed, the record found
      // is this very one, and it was recorded by this call.
      return err.Item?.writeId?.S === writeId ? 'recorded' : 'duplicate';
    }
  }

  /**
   * Moves an `open` record on: a bigger allowance while its stream goes on, or its final use
   * (`succeeded`) when it ends. Conditional on the record still being open with the allowance the
   * writer last set (`from`), so a sweeper's close and a late writer cannot both land. False if
   * it was not (closed by someone else).
   */
  async advance(
    event: Pick<UsageEvent, 'tenantId' | 'requestId'>,
    from: { costNanoUsd: number },
    to: Pick<UsageEvent, 'units' | 'costNanoUsd' | 'status' | 'latencyMs' | 'at'> & { expiresAt?: string },
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.usageEvent(event.tenantId, event.requestId),
          UpdateExpression:
            'SET units = :units, costNanoUsd = :cost, #status = :status, latencyMs = :lat, #at = :at' +
            (to.expiresAt ? ', expiresAt = :exp' : ' REMOVE expiresAt'),
          ConditionExpression: '#status = :open AND costNanoUsd = :from',
          ExpressionAttributeNames: { '#status': 'status', '#at': 'at' },
          ExpressionAttributeValues: {
            ':units': to.units,
            ':cost': to.costNanoUsd,
            ':status': to.status,
            ':lat': Math.round(to.latencyMs),
            ':at': to.at,
            ':open': 'open',
            ':from': from.costNanoUsd,
            ...(to.expiresAt ? { ':exp': to.expiresAt } : {}),
          },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  /**
   * Voids a `succeeded` record written beside a model call that then failed: the request is not
   * billed (the consumer takes it out of the aggregates). False if there was nothing to void.
   */
  async void(tenantId: string, requestId: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.usageEvent(tenantId, requestId),
          UpdateExpression: 'SET #status = :void',
          ConditionExpression: '#status = :ok',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':void': 'void', ':ok': 'succeeded' },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  /** One record by request id (strongly consistent), whatever its status. */
  async get(tenantId: string, requestId: string): Promise<UsageEvent | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: keys.usageEvent(tenantId, requestId),
        ConsistentRead: true,
      }),
    );
    return out.Item ? eventOf(out.Item) : undefined;
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
   * Billed usage records (`succeeded`) of one tenant, oldest first; with `from`/`to`, only requests
   * whose id (so whose start) falls in that time range. One key-range Query per shard (request ids
   * are time-ordered), merged. `all` includes open and void records too.
   */
  async listEvents(
    tenantId: string,
    range?: { from: number; to: number },
    opts: { all?: boolean; leaseId?: string } = {},
  ): Promise<UsageEvent[]> {
    const partitions = [
      ...Array.from({ length: USAGE_EVENT_SHARDS }, (_, s) => keys.usageEventShard(tenantId, s)),
      keys.usageEventLegacyPartition(tenantId),
    ];
    const pages = await Promise.all(partitions.map((pk) => this.queryEvents(pk, range, opts.leaseId)));
    const events = pages.flat().filter((e) => opts.all || e.status === 'succeeded');
    return events.sort((a, b) => (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0));
  }

  private async queryEvents(
    pk: string,
    range: { from: number; to: number } | undefined,
    leaseId: string | undefined,
  ): Promise<UsageEvent[]> {
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
                  ':pk': pk,
                  ':lo': `EVENT#${idBound('req', range.from, 'low')}`,
                  ':hi': `EVENT#${idBound('req', range.to, 'high')}`,
                  ...(leaseId ? { ':lease': leaseId } : {}),
                },
              }
            : {
                KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
                ExpressionAttributeValues: {
                  ':pk': pk,
                  ':p': 'EVENT#',
                  ...(leaseId ? { ':lease': leaseId } : {}),
                },
              }),
          ...(leaseId ? { FilterExpression: 'leaseId = :lease' } : {}),
          ConsistentRead: true,
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of out.Items ?? []) events.push(eventOf(item));
      cursor = out.LastEvaluatedKey;
    } while (cursor);
    return events;
  }
}

/** A stored record as an event (records from before statuses existed were all billed). */
export function eventOf(item: Record<string, unknown>): UsageEvent {
  const { pk: _pk, sk: _sk, type: _t, writeId: _w, ...event } = item;
  const e = event as unknown as UsageEvent;
  return { ...e, status: e.status ?? 'succeeded' };
}

/** The record's conditional put, as a transaction item (a single reservation's settlement). */
export function usageRecordPut(table: string, event: UsageEvent): TransactItem {
  return {
    Put: { TableName: table, Item: usageEventItem(event), ConditionExpression: 'attribute_not_exists(pk)' },
  };
}

/** The record as stored. */
export function usageEventItem(event: UsageEvent): Record<string, unknown> {
  return {
    ...keys.usageEvent(event.tenantId, event.requestId),
    type: 'usage_event',
    ...event,
    latencyMs: Math.round(event.latencyMs),
  };
}
