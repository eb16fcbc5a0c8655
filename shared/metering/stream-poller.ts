import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type Shard,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { UsageConsumer, UsageStreamRecord } from './usage-consumer';

/** Records one GetRecords reads at most. */
const PAGE = 1000;

export interface PollerOptions {
  /** Pause between polls (the batching window; default 1 s): a full page is read on at once. */
  idleMs?: number;
  /** How often a caught-up shard notes so (the aggregates' freshness; default 1 s); a write each time. */
  caughtUpEveryMs?: number;
  now?: () => Date;
  onError?: (err: unknown) => void;
}

interface ShardState {
  id: string;
  iterator?: string;
  /** The shard is closed and every record in it was applied. */
  done: boolean;
  lastCaughtUpNote: number;
}

/**
 * The local stand-in for the Lambda event source mapping: reads the usage table's stream (DynamoDB
 * Local implements the Streams API) and hands each shard's records, in order, to the same
 * `UsageConsumer` the Lambda runs. It starts each shard after its checkpoint, so a restart (or a
 * crash mid-batch) replays at most what was not committed, which the consumer skips or applies once.
 */
export class StreamPoller {
  private readonly streams: DynamoDBStreamsClient;
  private readonly shards = new Map<string, ShardState>();
  private streamArn?: string;
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  /** Iterators dropped in the current round (a drain polls again until none is). */
  private resets = 0;

  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly table: string,
    private readonly consumer: UsageConsumer,
    private readonly opts: PollerOptions = {},
  ) {
    const config = dynamo.config;
    this.streams = new DynamoDBStreamsClient({
      region: config.region,
      endpoint: config.endpoint,
      credentials: config.credentials,
      maxAttempts: 3,
      // A store that stops answering fails a poll (retried next time), never hangs it.
      requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
    });
  }

  /** Polls until `stop()`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        let full = false;
        try {
          full = (await this.pollOnce()) >= PAGE * this.shards.size && this.shards.size > 0;
        } catch (err) {
          this.opts.onError?.(err);
        }
        // As the Lambda mapping's batching window: wait before the next batch unless the stream
        // had a full page waiting (a backlog is read at once). Longer batches write each aggregate
        // once for more requests.
        if (!full && this.running) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, this.opts.idleMs ?? 1_000);
            this.wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.streams.destroy();
  }

  /**
   * Applies everything the stream holds now, shard by shard, until every shard reads empty
   * (tests call this before reading aggregates). Returns how many records were applied.
   */
  async drain(): Promise<number> {
    let total = 0;
    for (let round = 0; round < 1000; round++) {
      this.resets = 0;
      const applied = await this.pollOnce();
      total += applied;
      if (applied === 0 && this.resets === 0) return total;
    }
    return total;
  }

  /** One GetRecords per open shard; the number of records applied. */
  private async pollOnce(): Promise<number> {
    try {
      await this.refreshShards();
    } catch (err) {
      // The table or its stream is gone (an in-memory store restarted: a new table, a new stream):
      // start over from the table's current stream and its checkpoints.
      if ((err as Error).name === 'ResourceNotFoundException') {
        this.streamArn = undefined;
        this.shards.clear();
      }
      throw err;
    }
    let applied = 0;
    for (const shard of this.shards.values()) {
      if (shard.done) continue;
      applied += await this.pollShard(shard);
    }
    return applied;
  }

  private async pollShard(shard: ShardState): Promise<number> {
    if (!shard.iterator) shard.iterator = await this.iteratorFor(shard.id);
    if (!shard.iterator) return 0;
    let out: GetRecordsCommandOutput;
    try {
      out = await this.streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: PAGE }));
    } catch (err) {
      // An expired iterator, or (DynamoDB Local) one taken while its shard was empty: a new one is
      // taken from the checkpoint, so nothing is skipped or read twice.
      if (err instanceof ExpiredIteratorException || err instanceof TrimmedDataAccessException) {
        shard.iterator = undefined;
        this.resets++;
        return 0;
      }
      throw err;
    }
    const records = (out.Records ?? []) as UsageStreamRecord[];
    if (records.length > 0) await this.consumer.apply(shard.id, records);
    shard.iterator = out.NextShardIterator;
    if (!shard.iterator) {
      // Read to its end: a closed shard, no longer part of the freshness.
      shard.done = true;
      await this.consumer.closed(shard.id, this.opts.now?.() ?? new Date());
    }
    if (records.length === 0) {
      const now = (this.opts.now?.() ?? new Date()).getTime();
      if (now - shard.lastCaughtUpNote >= (this.opts.caughtUpEveryMs ?? 1_000)) {
        shard.lastCaughtUpNote = now;
        await this.consumer.caughtUp(shard.id, new Date(now));
      }
    }
    return records.length;
  }

  private async iteratorFor(shardId: string): Promise<string | undefined> {
    const checkpoint = await this.consumer.checkpoint(shardId);
    const out = await this.streams.send(
      new GetShardIteratorCommand({
        StreamArn: this.streamArn,
        ShardId: shardId,
        ...(checkpoint.seq
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: checkpoint.seq }
          : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return out.ShardIterator;
  }

  private async refreshShards(): Promise<void> {
    if (!this.streamArn) {
      const table = await this.dynamo.send(new DescribeTableCommand({ TableName: this.table }));
      this.streamArn = table.Table?.LatestStreamArn;
      if (!this.streamArn) throw new Error(`table ${this.table} has no stream`);
    }
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const out = await this.streams.send(
        new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId: start }),
      );
      shards.push(...(out.StreamDescription?.Shards ?? []));
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    for (const s of shards) {
      if (!s.ShardId || this.shards.has(s.ShardId)) continue;
      this.shards.set(s.ShardId, { id: s.ShardId, done: false, lastCaughtUpNote: 0 });
    }
  }
}
