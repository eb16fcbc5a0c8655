import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { keys } from '../db/keys';
import { shardOf } from '../db/shard';
import { type TransactItem, transact } from '../db/transact';
import { DEFAULT_PROJECT_ID } from '../projects/project';
import { PLATFORM_SHARDS } from './platform-usage';
import { channelOf, eventOf, type UsageEvent } from './usage-store';

/** One change of the usage table, as its stream delivers it (a Lambda record or a GetRecords one). */
export interface UsageStreamRecord {
  eventName?: 'INSERT' | 'MODIFY' | 'REMOVE' | string;
  dynamodb?: {
    SequenceNumber?: string;
    ApproximateCreationDateTime?: number | Date;
    NewImage?: Record<string, AttributeValue>;
    OldImage?: Record<string, AttributeValue>;
  };
}

/** Where the consumer stands in one stream shard, and how fresh the aggregates it feeds are. */
export interface ConsumerCheckpoint {
  shardId: string;
  /** The last sequence number applied. */
  seq?: string;
  /** When the last record applied was written (its approximate creation time), ms. */
  lastEventAt?: number;
  /** When the shard was last seen with nothing newer to apply, ms. */
  caughtUpAt?: number;
  /** When a batch was last applied to the aggregates (the consumer's clock), ms. */
  appliedAt?: number;
  /** When applying a batch of the shard last failed (it is being retried), ms. */
  failedAt?: number;
  /** When the shard was read to its end: a closed shard, no longer part of the freshness. */
  closedAt?: number;
}

export interface ApplyReport {
  /** Records whose changes were applied now. */
  applied: number;
  /** Records already applied before (a retried or replayed batch). */
  skipped: number;
  /** Aggregate items written. */
  writes: number;
}

/** A tenant's key in one month: what a batch touched, for the key budgets' alerts. */
export interface KeyMonth {
  tenantId: string;
  keyId: string;
  month: string;
}

/** A tenant's project in one month: what a batch touched, for the project budgets' alerts. */
export interface ProjectMonth {
  tenantId: string;
  projectId: string;
  month: string;
}

/** What a batch's records touched: their keys' and their projects' months. */
export interface Touched {
  keys: KeyMonth[];
  projects: ProjectMonth[];
}

/** Items one transaction holds besides the checkpoint (DynamoDB allows 100). */
const MAX_ITEMS = 99;

/**
 * Derives the aggregates from the usage records' changes: per tenant x day x model version x
 * key x channel (what usage reports and consoles read), per day x model version x channel for the
 * platform, and per tenant x month for the operators' top tenants (online and batch together). A change counts as the difference between the
 * record's new and old images (a record counts while `succeeded`), so a void, a stream's close or
 * a sweeper's close all move the aggregates by exactly what changed.
 *
 * Exactly once per change, under retries, replays and batches split differently on retry: each
 * stream shard has a checkpoint (its last applied sequence number) in the main table, moved in the
 * same transaction as the aggregates it covers, on the condition that it still holds the value read
 * before. A record at or before the checkpoint is skipped; a transaction that loses that race reads
 * the checkpoint again. A batch's changes are summed per aggregate item first, so a batch of N
 * requests writes each aggregate once, not N times.
 */
export class UsageConsumer {
  /** The checkpoint this consumer last moved, per shard (saves a read per batch; verified by each write). */
  private readonly lastApplied = new Map<string, string>();
  private afterApplyHook?: (touched: KeyMonth[], all: Touched) => Promise<void>;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: { main: string; usage: string },
    private readonly opts: {
      now?: () => Date;
      /** Runs after each transaction committed: tests crash here. */
      afterCommit?: (chunk: number) => void | Promise<void>;
      /** Aggregate items per transaction (at most 99: DynamoDB allows 100 with the checkpoint). */
      maxItems?: number;
    } = {},
  ) {}

  /**
   * Runs after each batch with every tenant x key x month its records touched, and every tenant x
   * project x month (those skipped as applied before included, so a batch retried after a crash
   * checks them again). The key and project budgets' alerts hang here: off the request path, on
   * totals counted exactly once. A hook should not throw; if one does, the batch fails and is
   * retried (its aggregates are not applied twice). One hook: setting another replaces it.
   */
  afterApply(hook: (touched: KeyMonth[], all: Touched) => Promise<void>): void {
    this.afterApplyHook = hook;
  }

  async apply(shardId: string, records: UsageStreamRecord[]): Promise<ApplyReport> {
    const report = await this.applyOnce(shardId, records);
    if (this.afterApplyHook) {
      const touched = touchedMonths(records);
      await this.afterApplyHook(touched.keys, touched);
    }
    return report;
  }

  private async applyOnce(shardId: string, records: UsageStreamRecord[]): Promise<ApplyReport> {
    const report: ApplyReport = { applied: 0, skipped: 0, writes: 0 };
    const sorted = [...records]
      .filter((r) => r.dynamodb?.SequenceNumber !== undefined)
      .sort((a, b) => compareSeq(a.dynamodb!.SequenceNumber!, b.dynamodb!.SequenceNumber!));
    for (let attempt = 0; attempt < 8; attempt++) {
      // Where this consumer left the shard, if it was the last to move it (a batch's transaction
      // checks that it still is); otherwise, or after losing that race, read from the store.
      const known = attempt === 0 ? this.lastApplied.get(shardId) : undefined;
      const checkpoint = known !== undefined ? { shardId, seq: known } : await this.checkpoint(shardId);
      const pending = sorted.filter(
        (r) => checkpoint.seq === undefined || compareSeq(r.dynamodb!.SequenceNumber!, checkpoint.seq) > 0,
      );
      report.skipped = sorted.length - pending.length;
      const outcome = await this.applyPending(shardId, checkpoint.seq, pending, report);
      if (outcome === 'done') return report;
      this.lastApplied.delete(shardId);
    }
    throw new Error(`usage consumer: the checkpoint of shard ${shardId} kept moving under it`);
  }

  /** Notes that a shard had nothing newer to apply at `at` (the aggregates are fresh as of then). */
  async caughtUp(shardId: string, at: Date): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tables.main,
        Key: keys.consumerCheckpoint(shardId),
        UpdateExpression: 'SET #type = :type, shardId = :shard, caughtUpAt = :at',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: { ':type': 'consumer_checkpoint', ':shard': shardId, ':at': at.getTime() },
      }),
    );
  }

  /**
   * Notes that applying a batch of the shard failed at `at` (the event source mapping retries it):
   * the shard stays in the freshness, which then shows how far behind it is. Best effort.
   */
  async failed(shardId: string, at: Date): Promise<void> {
    await this.note(shardId, 'failedAt', at);
  }

  /** Notes that the shard was read to its end (closed, every record applied). */
  async closed(shardId: string, at: Date): Promise<void> {
    await this.note(shardId, 'closedAt', at);
  }

  private async note(shardId: string, field: 'failedAt' | 'closedAt', at: Date): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tables.main,
        Key: keys.consumerCheckpoint(shardId),
        UpdateExpression: 'SET #type = :type, shardId = :shard, #field = :at',
        ExpressionAttributeNames: { '#type': 'type', '#field': field },
        ExpressionAttributeValues: { ':type': 'consumer_checkpoint', ':shard': shardId, ':at': at.getTime() },
      }),
    );
  }

  async checkpoint(shardId: string): Promise<ConsumerCheckpoint> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tables.main,
        Key: keys.consumerCheckpoint(shardId),
        ConsistentRead: true,
      }),
    );
    return checkpointOf(shardId, out.Item ?? {});
  }

  /** Every shard's checkpoint (one Query). */
  async checkpoints(): Promise<ConsumerCheckpoint[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tables.main,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.consumerPartition() },
      }),
    );
    return (out.Items ?? []).map((i) => checkpointOf(i.shardId as string, i));
  }

  private async applyPending(
    shardId: string,
    from: string | undefined,
    pending: UsageStreamRecord[],
    report: ApplyReport,
  ): Promise<'done' | 'raced'> {
    let prev = from;
    let chunkNo = 0;
    let i = 0;
    while (i < pending.length) {
      const sums = new Map<string, Aggregate>();
      let j = i;
      // As many records as keep the transaction within its item limit.
      for (; j < pending.length; j++) {
        const adds = contributions(pending[j]!, shardId);
        const fresh = adds.filter((a) => !sums.has(a.id)).length;
        if (sums.size + fresh > (this.opts.maxItems ?? MAX_ITEMS) && j > i) break;
        for (const a of adds) {
          const have = sums.get(a.id);
          if (have) addInto(have, a);
          else sums.set(a.id, { ...a, counts: { ...a.counts } });
        }
      }
      const chunk = pending.slice(i, j);
      const last = chunk[chunk.length - 1]!.dynamodb!;
      const items: TransactItem[] = [...sums.values()]
        .filter((a) => !isZero(a.counts))
        .map((a) => this.update(a));
      items.push(
        this.advance(shardId, prev, last.SequenceNumber!, creationMs(last.ApproximateCreationDateTime)),
      );
      const result = await transact(this.doc, items);
      if (!result.ok) return 'raced';
      report.applied += chunk.length;
      report.writes += items.length - 1;
      prev = last.SequenceNumber!;
      this.lastApplied.set(shardId, prev);
      await this.opts.afterCommit?.(chunkNo++);
      i = j;
    }
    return 'done';
  }

  private update(a: Aggregate): TransactItem {
    const c = a.counts;
    const values: Record<string, unknown> = {
      ':type': a.type,
      ':req': c.requests,
      ':in': c.inputTokens,
      ':out': c.outputTokens,
      ':img': c.images,
      ':cost': c.costNanoUsd,
    };
    const names: Record<string, string> = { '#type': 'type' };
    const sets = ['#type = :type'];
    for (const [field, value] of Object.entries(a.attributes)) {
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    let add = 'ADD requests :req, inputTokens :in, outputTokens :out, images :img, costNanoUsd :cost';
    if (a.type === 'usage_daily') {
      add += ', latencyMsSum :lat';
      values[':lat'] = c.latencyMs;
    }
    return {
      Update: {
        TableName: this.tables.usage,
        Key: a.key,
        UpdateExpression: `SET ${sets.join(', ')} ${add}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }

  private advance(shardId: string, prev: string | undefined, seq: string, lastEventAt: number | undefined) {
    return {
      Update: {
        TableName: this.tables.main,
        Key: keys.consumerCheckpoint(shardId),
        UpdateExpression:
          'SET #type = :type, shardId = :shard, seq = :seq, appliedAt = :now' +
          (lastEventAt !== undefined ? ', lastEventAt = :evt' : ''),
        ConditionExpression: prev === undefined ? 'attribute_not_exists(seq)' : 'seq = :prev',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: {
          ':type': 'consumer_checkpoint',
          ':shard': shardId,
          ':seq': seq,
          ':now': (this.opts.now?.() ?? new Date()).getTime(),
          ...(lastEventAt !== undefined ? { ':evt': lastEventAt } : {}),
          ...(prev !== undefined ? { ':prev': prev } : {}),
        },
      },
    } satisfies TransactItem;
  }
}

function checkpointOf(shardId: string, item: Record<string, unknown>): ConsumerCheckpoint {
  const n = (v: unknown) => (typeof v === 'number' ? v : undefined);
  return {
    shardId,
    seq: item.seq as string | undefined,
    lastEventAt: n(item.lastEventAt),
    caughtUpAt: n(item.caughtUpAt),
    appliedAt: n(item.appliedAt),
    failedAt: n(item.failedAt),
    closedAt: n(item.closedAt),
  };
}

/** Sequence numbers are decimal strings, ordered as numbers within a shard. */
export function compareSeq(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function creationMs(t: number | Date | undefined): number | undefined {
  if (t === undefined) return undefined;
  if (t instanceof Date) return t.getTime();
  // Lambda and GetRecords give seconds (Lambda's may carry a fraction).
  return Math.round(t * 1000);
}

interface Counts {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  images: number;
  costNanoUsd: number;
  latencyMs: number;
}

interface Aggregate {
  id: string;
  type:
    | 'usage_daily'
    | 'platform_daily'
    | 'platform_tenant_month'
    | 'usage_key_month'
    | 'usage_project_month';
  key: { pk: string; sk: string };
  attributes: Record<string, string>;
  counts: Counts;
}

function isZero(c: Counts): boolean {
  return (
    c.requests === 0 &&
    c.inputTokens === 0 &&
    c.outputTokens === 0 &&
    c.images === 0 &&
    c.costNanoUsd === 0 &&
    c.latencyMs === 0
  );
}

function addInto(into: Aggregate, from: Aggregate) {
  for (const f of Object.keys(into.counts) as (keyof Counts)[]) into.counts[f] += from.counts[f];
}

/** What a record counts for in the aggregates: its usage while it is `succeeded`, nothing otherwise. */
function counted(image: Record<string, AttributeValue> | undefined): UsageEvent | undefined {
  if (!image) return undefined;
  const item = unmarshall(image);
  if (item.type !== 'usage_event') return undefined;
  const event = eventOf(item);
  return event.status === 'succeeded' ? event : undefined;
}

/** The aggregate changes one stream record makes: its new image's counts less its old image's. */
export function contributions(r: UsageStreamRecord, streamShardId: string): Aggregate[] {
  const out: Aggregate[] = [];
  const before = counted(r.dynamodb?.OldImage);
  const after = counted(r.eventName === 'REMOVE' ? undefined : r.dynamodb?.NewImage);
  if (before) out.push(...aggregatesOf(before, -1, streamShardId));
  if (after) out.push(...aggregatesOf(after, 1, streamShardId));
  return out;
}

function aggregatesOf(e: UsageEvent, sign: 1 | -1, streamShardId: string): Aggregate[] {
  const day = e.at.slice(0, 10);
  const month = e.at.slice(0, 7);
  const counts = (): Counts => ({
    requests: sign,
    inputTokens: sign * (e.units.input_tokens ?? 0),
    outputTokens: sign * (e.units.output_tokens ?? 0),
    images: sign * (e.units.images ?? 0),
    costNanoUsd: sign * e.costNanoUsd,
    latencyMs: sign * Math.round(e.latencyMs ?? 0),
  });
  // Batch lines are aggregated apart from online calls (their own daily and platform items); an
  // online item is keyed and shaped as before batches existed.
  const channel = channelOf(e);
  const batch: Record<string, string> = channel === 'batch' ? { channel } : {};
  const daily = keys.usageDaily(e.tenantId, day, e.model, e.version, e.keyId, channel);
  // Each stream shard adds to its own platform shard, so consumers of different shards never
  // contend for one platform item.
  const platform = keys.platformDaily(
    shardOf(streamShardId, PLATFORM_SHARDS),
    day,
    e.model,
    e.version,
    channel,
  );
  const tenantMonth = keys.platformTenantMonth(month, shardOf(e.tenantId, PLATFORM_SHARDS), e.tenantId);
  const keyMonth = keys.usageKeyMonth(e.tenantId, e.keyId, month);
  const projectId = e.projectId ?? DEFAULT_PROJECT_ID;
  const projectMonth = keys.usageProjectMonth(e.tenantId, projectId, month);
  return [
    {
      id: `${daily.pk}|${daily.sk}`,
      type: 'usage_daily',
      key: daily,
      attributes: { day, model: e.model, version: e.version, keyId: e.keyId, ...batch },
      counts: counts(),
    },
    {
      id: `${platform.pk}|${platform.sk}`,
      type: 'platform_daily',
      key: platform,
      attributes: { day, model: e.model, version: e.version, ...batch },
      counts: { ...counts(), latencyMs: 0 },
    },
    {
      id: `${tenantMonth.pk}|${tenantMonth.sk}`,
      type: 'platform_tenant_month',
      key: tenantMonth,
      attributes: { tenantId: e.tenantId, month },
      counts: { ...counts(), latencyMs: 0 },
    },
    {
      id: `${keyMonth.pk}|${keyMonth.sk}`,
      type: 'usage_key_month',
      key: keyMonth,
      attributes: { tenantId: e.tenantId, keyId: e.keyId, month },
      counts: { ...counts(), latencyMs: 0 },
    },
    {
      id: `${projectMonth.pk}|${projectMonth.sk}`,
      type: 'usage_project_month',
      key: projectMonth,
      attributes: { tenantId: e.tenantId, projectId, month },
      counts: { ...counts(), latencyMs: 0 },
    },
  ];
}

/** The tenant x key x month and tenant x project x month of every counted record in a batch (each once). */
function touchedMonths(records: UsageStreamRecord[]): Touched {
  const keyMonths = new Map<string, KeyMonth>();
  const projectMonths = new Map<string, ProjectMonth>();
  for (const r of records) {
    for (const image of [r.dynamodb?.NewImage, r.dynamodb?.OldImage]) {
      const e = counted(image);
      if (!e) continue;
      const month = e.at.slice(0, 7);
      keyMonths.set(`${e.tenantId}#${e.keyId}#${month}`, { tenantId: e.tenantId, keyId: e.keyId, month });
      const projectId = e.projectId ?? DEFAULT_PROJECT_ID;
      projectMonths.set(`${e.tenantId}#${projectId}#${month}`, { tenantId: e.tenantId, projectId, month });
    }
  }
  return { keys: [...keyMonths.values()], projects: [...projectMonths.values()] };
}

/**
 * How long a shard may go unheard of (no batch applied, no note that it is caught up or failing)
 * before it no longer counts for freshness: a shard that closed (DynamoDB Streams rolls shards over
 * every few hours; the Lambda event source mapping says nothing when one ends) or an open one
 * with nothing to apply. A shard whose batches keep failing is heard of at every retry, so it keeps
 * counting, and the freshness shows how far behind it is.
 */
export const SILENT_SHARD_MS = 15 * 60_000;

/**
 * How fresh the aggregates are: every shard's changes are applied up to `asOf` (the oldest of the
 * shards' "through" times: the last change applied, or when the shard was last seen caught up),
 * over the shards that are not closed and were heard of within `SILENT_SHARD_MS`.
 */
export function freshness(
  checkpoints: ConsumerCheckpoint[],
  now: Date,
): { asOf: string | null; lagMs: number | null } {
  const through = checkpoints
    .filter((c) => c.closedAt === undefined)
    .filter((c) => {
      const heard = Math.max(c.appliedAt ?? 0, c.caughtUpAt ?? 0, c.failedAt ?? 0, c.lastEventAt ?? 0);
      return now.getTime() - heard < SILENT_SHARD_MS;
    })
    .map((c) => Math.max(c.lastEventAt ?? 0, c.caughtUpAt ?? 0))
    .filter((t) => t > 0);
  if (through.length === 0) return { asOf: null, lagMs: null };
  const asOf = Math.min(...through);
  return { asOf: new Date(asOf).toISOString(), lagMs: Math.max(0, now.getTime() - asOf) };
}
