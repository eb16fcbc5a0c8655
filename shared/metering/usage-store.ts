import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { keys, USAGE_EVENT_SHARDS } from '../db/keys';
import { queryAll, queryItems } from '../db/query';
import { shardOf } from '../db/shard';
import type { TransactItem } from '../db/transact';
import { idBound } from '../ids';
import { DEFAULT_PROJECT_ID } from '../projects/project';
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
  /** Admitted against the tenant's credit balance: the credit ledger burns it. */
  prepaid?: boolean;
  /**
   * How the request came in: `batch` for a line of a batch job (its cost already at the batch
   * price); absent for an online call, as on every record from before batches existed.
   */
  channel?: UsageChannel;
  /** The key's project; absent on records of the default project (and from before projects). */
  projectId?: string;
}

/** The channel a record is stored with: only batch is written, online is the absence. */
export type UsageChannel = 'batch';

/** How usage came in, as reports and aggregates name it. */
export type Channel = 'online' | 'batch';
export const CHANNELS = ['online', 'batch'] as const satisfies readonly Channel[];

/** A record's (or an aggregate item's) channel: one without is online. */
export function channelOf(item: { channel?: unknown }): Channel {
  return item.channel === 'batch' ? 'batch' : 'online';
}

export type UsageStatus = 'succeeded' | 'open' | 'void';

export interface DailyUsage {
  day: string;
  model: string;
  version: string;
  keyId: string;
  /** Online calls and batch lines are aggregated apart (an item from before batches is online). */
  channel: Channel;
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
   * it was not (closed by someone else). A record that stays open with an `expiresAt` stays in the
   * open index at its new expiry; one that leaves `open` leaves the index.
   */
  async advance(
    event: Pick<UsageEvent, 'tenantId' | 'requestId'>,
    from: { costNanoUsd: number },
    to: Pick<UsageEvent, 'units' | 'costNanoUsd' | 'status' | 'latencyMs' | 'at'> & { expiresAt?: string },
  ): Promise<boolean> {
    const index =
      to.status === 'open' && to.expiresAt ? openIndex({ ...event, expiresAt: to.expiresAt }) : undefined;
    const sets = [
      'units = :units',
      'costNanoUsd = :cost',
      '#status = :status',
      'latencyMs = :lat',
      '#at = :at',
    ];
    const removes: string[] = [];
    if (to.expiresAt) sets.push('expiresAt = :exp');
    else removes.push('expiresAt');
    if (index) sets.push('gsi1pk = :gpk', 'gsi1sk = :gsk');
    else removes.push('gsi1pk', 'gsi1sk');
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.usageEvent(event.tenantId, event.requestId),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
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
            ...(index ? { ':gpk': index.gsi1pk, ':gsk': index.gsi1sk } : {}),
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
   * Voids an `open` record (a stream whose model failed mid-way: not billed) and takes it out of
   * the open index. False if it was not open (already closed or voided, or never written).
   */
  async voidOpen(tenantId: string, requestId: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.usageEvent(tenantId, requestId),
          UpdateExpression: 'SET #status = :void REMOVE expiresAt, gsi1pk, gsi1sk',
          ConditionExpression: '#status = :open',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':void': 'void', ':open': 'open' },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  /**
   * Closes every `open` record whose `expiresAt` is before `now` (its writer crashed, was cut off,
   * or could not reach the store): billed at its allowance (`succeeded`, `at` = now), and out of the
   * open index. Found through the sparse open index in gsi1 (one Query per shard, only open records
   * are in it), never a Scan. Each close is conditional on the record still being open and still
   * expired, so a writer that moved it on meanwhile wins. Returns how many were closed.
   */
  async closeExpiredOpen(now: Date): Promise<number> {
    const at = now.toISOString();
    let closed = 0;
    for (let shard = 0; shard < OPEN_RECORD_SHARDS; shard++) {
      const expired = queryItems(this.doc, {
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p AND gsi1sk < :now',
        ExpressionAttributeValues: { ':p': openIndexPartition(shard), ':now': at },
      });
      for await (const item of expired) {
        if (await this.closeExpired(item.tenantId as string, item.requestId as string, at)) closed++;
      }
    }
    return closed;
  }

  private async closeExpired(tenantId: string, requestId: string, at: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.usageEvent(tenantId, requestId),
          UpdateExpression: 'SET #status = :ok, #at = :at REMOVE expiresAt, gsi1pk, gsi1sk',
          ConditionExpression: '#status = :open AND expiresAt < :at',
          ExpressionAttributeNames: { '#status': 'status', '#at': 'at' },
          ExpressionAttributeValues: { ':ok': 'succeeded', ':open': 'open', ':at': at },
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

  /**
   * Daily aggregates of one tenant for days in [from, to] (YYYY-MM-DD), oldest first; online and
   * batch usage are separate rows.
   */
  async listDaily(tenantId: string, from: string, to: string): Promise<DailyUsage[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': keys.tenant(tenantId).pk,
        ':from': `${keys.usageDailyPrefix()}${from}`,
        // '~' sorts after every character a key segment uses, so the whole last day is included.
        ':to': `${keys.usageDailyPrefix()}${to}~`,
      },
    });
    return items.map(
      (item): DailyUsage => ({
        day: item.day as string,
        model: item.model as string,
        version: item.version as string,
        keyId: item.keyId as string,
        channel: channelOf(item),
        requests: (item.requests as number) ?? 0,
        inputTokens: (item.inputTokens as number) ?? 0,
        outputTokens: (item.outputTokens as number) ?? 0,
        images: (item.images as number) ?? 0,
        costNanoUsd: (item.costNanoUsd as number) ?? 0,
      }),
    );
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

  /**
   * One page of a tenant's usage records, newest first, for the request log: records whose id (so
   * whose start) is in [from, to] and older than `before` (the last id of the previous page), that
   * match `filter` (in the Query's filter: the store reads past the others, the client never gets
   * them). One Query per shard (and the legacy partition), each read until it has more than
   * `limit` matches or runs out, merged: `hasMore` when any shard had more than fit.
   */
  async page(
    tenantId: string,
    q: { from: number; to: number; before?: string; limit: number; filter?: UsageEventFilter },
  ): Promise<{ events: UsageEvent[]; hasMore: boolean }> {
    const partitions = [
      ...Array.from({ length: USAGE_EVENT_SHARDS }, (_, s) => keys.usageEventShard(tenantId, s)),
      keys.usageEventLegacyPartition(tenantId),
    ];
    const hi = `EVENT#${idBound('req', q.to, 'high')}`;
    const values: Record<string, unknown> = {
      ':lo': `EVENT#${idBound('req', q.from, 'low')}`,
      ':hi': q.before && `EVENT#${q.before}` < hi ? `EVENT#${q.before}` : hi,
    };
    const names: Record<string, string> = {};
    const conditions: string[] = [];
    const f = q.filter ?? {};
    if (f.keyId !== undefined) {
      conditions.push('keyId = :key');
      values[':key'] = f.keyId;
    }
    if (f.model !== undefined) {
      names['#model'] = 'model';
      conditions.push('#model = :model');
      values[':model'] = f.model;
    }
    if (f.version !== undefined) {
      names['#version'] = 'version';
      conditions.push('#version = :version');
      values[':version'] = f.version;
    }
    if (f.projectId !== undefined) {
      // Records of the default project carry no project (nor do those from before projects).
      conditions.push(
        f.projectId === DEFAULT_PROJECT_ID
          ? '(attribute_not_exists(projectId) OR projectId = :project)'
          : 'projectId = :project',
      );
      values[':project'] = f.projectId;
    }
    if (f.status !== undefined) {
      names['#status'] = 'status';
      // Records from before statuses existed were all billed.
      conditions.push(
        f.status === 'succeeded'
          ? '(attribute_not_exists(#status) OR #status = :status)'
          : '#status = :status',
      );
      values[':status'] = f.status;
    }
    const want = q.limit + 1;
    const shards = await Promise.all(
      partitions.map(async (pk) => {
        const found: UsageEvent[] = [];
        const items = queryItems(
          this.doc,
          {
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
            ...(conditions.length ? { FilterExpression: conditions.join(' AND ') } : {}),
            ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
            ExpressionAttributeValues: { ...values, ':pk': pk },
            ScanIndexForward: false,
            ConsistentRead: true,
          },
          { pageSize: want },
        );
        for await (const item of items) {
          // BETWEEN includes the previous page's last record itself.
          if (item.requestId === q.before) continue;
          found.push(eventOf(item));
          if (found.length === want) break;
        }
        return found;
      }),
    );
    const merged = shards
      .flat()
      .sort((a, b) => (a.requestId < b.requestId ? 1 : a.requestId > b.requestId ? -1 : 0));
    return { events: merged.slice(0, q.limit), hasMore: merged.length > q.limit };
  }

  private async queryEvents(
    pk: string,
    range: { from: number; to: number } | undefined,
    leaseId: string | undefined,
  ): Promise<UsageEvent[]> {
    const items = await queryAll(this.doc, {
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
    });
    return items.map(eventOf);
  }
}

/** What the request log filters records by (each absent: any). */
export interface UsageEventFilter {
  keyId?: string;
  model?: string;
  version?: string;
  /** A project (the default project's records carry none). */
  projectId?: string;
  status?: UsageStatus;
}

/** A stored record as an event (records from before statuses existed were all billed). */
export function eventOf(item: Record<string, unknown>): UsageEvent {
  const { pk: _pk, sk: _sk, type: _t, writeId: _w, gsi1pk: _g, gsi1sk: _s, ...event } = item;
  const e = event as unknown as UsageEvent;
  return { ...e, status: e.status ?? 'succeeded' };
}

/** The record's conditional put, as a transaction item (a single reservation's settlement). */
export function usageRecordPut(table: string, event: UsageEvent): TransactItem {
  return {
    Put: { TableName: table, Item: usageEventItem(event), ConditionExpression: 'attribute_not_exists(pk)' },
  };
}

/** The record as stored (an open one with an expiry is also in the open index). */
export function usageEventItem(event: UsageEvent): Record<string, unknown> {
  return {
    ...keys.usageEvent(event.tenantId, event.requestId),
    type: 'usage_event',
    ...event,
    latencyMs: Math.round(event.latencyMs),
    ...(event.status === 'open' && event.expiresAt
      ? openIndex({ tenantId: event.tenantId, requestId: event.requestId, expiresAt: event.expiresAt })
      : {}),
  };
}

/**
 * Partitions of the open index (gsi1 of the usage table): open records are spread over them by a
 * hash of the request id, so no index partition takes every stream's writes.
 */
export const OPEN_RECORD_SHARDS = 8;

/** The gsi1 partition of one shard of open records. */
export function openIndexPartition(shard: number): string {
  return `OPEN#${shard}`;
}

/**
 * An open record's place in the sparse open index: its shard, and its expiry first in the sort key,
 * so the sweeper's Query reads expired records only. Removed when the record leaves `open`.
 */
function openIndex(e: { tenantId: string; requestId: string; expiresAt: string }) {
  return {
    gsi1pk: openIndexPartition(shardOf(e.requestId, OPEN_RECORD_SHARDS)),
    gsi1sk: `${e.expiresAt}#${e.tenantId}#${e.requestId}`,
  };
}
