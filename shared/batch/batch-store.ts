import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { isConditionalFailure } from '../db/conditions';
import { entity, fieldsOf } from '../db/entity';
import { keys } from '../db/keys';
import { queryAll } from '../db/query';
import { transact } from '../db/transact';
import type {
  Batch,
  BatchFile,
  BatchStatus,
  BatchStop,
  FilePurpose,
  LineResult,
  RequestCounts,
} from './types';

const fileEntity = entity({
  type: 'batch_file',
  key: keys.batchFile,
  from: (item) => {
    const f = fieldsOf(item);
    return {
      id: String(f.id),
      tenantId: String(f.tenantId),
      purpose: f.purpose as FilePurpose,
      filename: String(f.filename),
      bytes: Number(f.bytes),
      createdAt: Number(f.createdAt),
      lines: Number(f.lines ?? 0),
      storageKey: String(f.storageKey),
      batchId: (f.batchId as string | undefined) ?? null,
    } satisfies BatchFile;
  },
});

const batchEntity = entity({
  type: 'batch',
  key: keys.batch,
  from: (item) => {
    const f = fieldsOf(item) as Record<string, unknown>;
    const num = (v: unknown) => (v === undefined || v === null ? null : Number(v));
    return {
      id: String(f.id),
      tenantId: String(f.tenantId),
      keyId: String(f.keyId),
      endpoint: f.endpoint as Batch['endpoint'],
      inputFileId: String(f.inputFileId),
      completionWindow: '24h',
      status: f.status as BatchStatus,
      lines: Number(f.lines),
      chunkLines: Number(f.chunkLines),
      chunks: Number(f.chunks),
      chunksFinished: Number(f.chunksFinished ?? 0),
      outputFileId: (f.outputFileId as string | undefined) ?? null,
      errorFileId: (f.errorFileId as string | undefined) ?? null,
      requestCounts: (f.requestCounts as RequestCounts | undefined) ?? null,
      metadata: (f.metadata as Record<string, string> | undefined) ?? null,
      stopped: (f.stopped as BatchStop | undefined) ?? null,
      createdAt: Number(f.createdAt),
      inProgressAt: num(f.inProgressAt),
      expiresAt: Number(f.expiresAt),
      finalizingAt: num(f.finalizingAt),
      completedAt: num(f.completedAt),
      failedAt: num(f.failedAt),
      expiredAt: num(f.expiredAt),
      cancellingAt: num(f.cancellingAt),
      cancelledAt: num(f.cancelledAt),
      enqueued: f.enqueued === true,
      models: (f.models as string[] | undefined) ?? [],
    } satisfies Batch;
  },
});

/** A line's stored result. The body is kept as JSON text (or, when large, in object storage). */
export interface StoredLine extends Omit<LineResult, 'response'> {
  response: { statusCode: number; body: string | null; bodyKey: string | null } | null;
}

const lineEntity = entity({
  type: 'batch_line',
  key: keys.batchLine,
  from: (item) => {
    const f = fieldsOf(item) as Record<string, unknown>;
    return {
      line: Number(f.line),
      customId: String(f.customId),
      requestId: String(f.requestId),
      outcome: f.outcome as LineResult['outcome'],
      response:
        f.statusCode === undefined
          ? null
          : {
              statusCode: Number(f.statusCode),
              body: (f.body as string | undefined) ?? null,
              bodyKey: (f.bodyKey as string | undefined) ?? null,
            },
      error: (f.error as LineResult['error'] | undefined) ?? null,
      served: (f.served as string | undefined) ?? null,
      at: Number(f.at),
    } satisfies StoredLine;
  },
});

/** Statuses in which lines still run (and may still be written). */
const RUNNING: BatchStatus[] = ['in_progress', 'cancelling'];

export type CreateBatchResult =
  | { ok: true }
  | { ok: false; reason: 'file_gone' | 'daily_limit'; used?: number };

/** Files, batches, their chunks' counters and their lines' results (main table). */
export class BatchStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  // Files

  async putFile(file: BatchFile): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: fileEntity.item(keys.batchFile(file.tenantId, file.id), { ...file, inUse: 0 }),
      }),
    );
  }

  async getFile(tenantId: string, fileId: string): Promise<BatchFile | undefined> {
    return fileEntity.get(this.doc, this.table, keys.batchFile(tenantId, fileId), { consistent: true });
  }

  /** A tenant's files, newest first, after the id `after` (OpenAI's cursor). */
  async listFiles(
    tenantId: string,
    opts: { limit: number; after?: string; purpose?: FilePurpose },
  ): Promise<{ files: BatchFile[]; hasMore: boolean }> {
    const files: BatchFile[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: opts.after
            ? 'pk = :pk AND sk BETWEEN :lo AND :hi'
            : 'pk = :pk AND begins_with(sk, :p)',
          ExpressionAttributeValues: {
            ':pk': keys.batchFile(tenantId, '').pk,
            ...(opts.after
              ? {
                  ':lo': keys.batchFilePrefix(),
                  ':hi': keys.batchFile(tenantId, opts.after).sk,
                }
              : { ':p': keys.batchFilePrefix() }),
          },
          ScanIndexForward: false,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        const f = fileEntity.from(item);
        if (opts.after && f.id >= opts.after) continue;
        if (opts.purpose && f.purpose !== opts.purpose) continue;
        files.push(f);
        if (files.length > opts.limit) break;
      }
      start = files.length > opts.limit ? undefined : out.LastEvaluatedKey;
    } while (start);
    return { files: files.slice(0, opts.limit), hasMore: files.length > opts.limit };
  }

  /** Deletes a file's record unless a batch still reading it holds it (one conditional delete). */
  async deleteFile(tenantId: string, fileId: string): Promise<'deleted' | 'missing' | 'in_use'> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.batchFile(tenantId, fileId),
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(inUse) OR inUse <= :zero)',
          ExpressionAttributeValues: { ':zero': 0 },
        }),
      );
      return 'deleted';
    } catch (err) {
      if (!isConditionalFailure(err)) throw err;
      return (await this.getFile(tenantId, fileId)) ? 'in_use' : 'missing';
    }
  }

  // Batches

  /**
   * Writes a new batch in one transaction with what it takes: its input file (held until the batch
   * ends, so it cannot be deleted meanwhile) and the tenant's lines of the day (refused past `perDay`).
   */
  async createBatch(batch: Batch, day: string, perDay: number): Promise<CreateBatchResult> {
    const { pk, sk } = keys.batch(batch.tenantId, batch.id);
    const items = [
      {
        Put: {
          TableName: this.table,
          Item: batchEntity.item(
            { pk, sk },
            { ...batch, gsi1pk: keys.activeBatchesIndex(), gsi1sk: `${batch.expiresAt}#${batch.id}` },
          ),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Update: {
          TableName: this.table,
          Key: keys.batchFile(batch.tenantId, batch.inputFileId),
          UpdateExpression: 'ADD inUse :one',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':one': 1 },
        },
      },
      {
        Update: {
          TableName: this.table,
          Key: keys.batchDay(batch.tenantId, day),
          UpdateExpression: 'SET #type = :type, #ttl = :ttl ADD #lines :n',
          ConditionExpression: 'attribute_not_exists(#lines) OR #lines <= :room',
          ExpressionAttributeNames: { '#type': 'type', '#lines': 'lines', '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':type': 'batch_day',
            ':n': batch.lines,
            ':room': perDay - batch.lines,
            ':ttl': batch.createdAt + 3 * 86_400,
          },
        },
      },
    ];
    if (batch.lines > perDay) return { ok: false, reason: 'daily_limit', used: 0 };
    const result = await transact(this.doc, items);
    if (result.ok) return { ok: true };
    const reasons = result.reasons;
    if (reasons[1]?.Code === 'ConditionalCheckFailed') return { ok: false, reason: 'file_gone' };
    if (reasons[2]?.Code === 'ConditionalCheckFailed') {
      const used = await this.doc.send(
        new GetCommand({ TableName: this.table, Key: keys.batchDay(batch.tenantId, day) }),
      );
      return { ok: false, reason: 'daily_limit', used: Number(used.Item?.lines ?? 0) };
    }
    throw new Error(`batch not created: ${reasons.map((r) => r.Code).join(', ')}`);
  }

  async getBatch(tenantId: string, batchId: string): Promise<Batch | undefined> {
    return batchEntity.get(this.doc, this.table, keys.batch(tenantId, batchId), { consistent: true });
  }

  /** A tenant's batches, newest first, after the id `after` (OpenAI's cursor). */
  async listBatches(
    tenantId: string,
    opts: { limit: number; after?: string },
  ): Promise<{ batches: Batch[]; hasMore: boolean }> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: opts.after
          ? 'pk = :pk AND sk BETWEEN :lo AND :hi'
          : 'pk = :pk AND begins_with(sk, :p)',
        ExpressionAttributeValues: {
          ':pk': keys.batch(tenantId, '').pk,
          ...(opts.after
            ? { ':lo': keys.batchPrefix(), ':hi': keys.batch(tenantId, opts.after).sk }
            : { ':p': keys.batchPrefix() }),
        },
        ScanIndexForward: false,
        Limit: opts.limit + 2,
      }),
    );
    const batches = (out.Items ?? [])
      .map((i) => batchEntity.from(i))
      .filter((b) => !opts.after || b.id < opts.after);
    return { batches: batches.slice(0, opts.limit), hasMore: batches.length > opts.limit };
  }

  /** Batches not yet final, across tenants, earliest expiry first. */
  async activeBatches(): Promise<Batch[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.activeBatchesIndex() },
    });
    return items.map((i) => batchEntity.from(i));
  }

  /** Batches that ended at or after `since` (Unix seconds), across tenants. */
  async finishedSince(since: number, now: number): Promise<Batch[]> {
    const days = new Set<string>();
    for (let t = since; t <= now + 86_400; t += 86_400)
      days.add(new Date(t * 1000).toISOString().slice(0, 10));
    const out: Batch[] = [];
    for (const day of [...days].filter((d) => d <= new Date(now * 1000).toISOString().slice(0, 10))) {
      const items = await queryAll(this.doc, {
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk >= :since',
        ExpressionAttributeValues: { ':pk': keys.finishedBatchesIndex(day), ':since': `${since}#` },
      });
      out.push(...items.map((i) => batchEntity.from(i)));
    }
    return out;
  }

  /** Lines answered so far, summed over the chunks' counters. */
  async progress(batchId: string): Promise<{ completed: number; failed: number }> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
      ExpressionAttributeValues: { ':pk': keys.batchWorkPartition(batchId), ':p': keys.batchChunkPrefix() },
    });
    let completed = 0;
    let failed = 0;
    for (const i of items) {
      completed += Number(i.completed ?? 0);
      failed += Number(i.failed ?? 0);
    }
    return { completed, failed };
  }

  async markEnqueued(tenantId: string, batchId: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.batch(tenantId, batchId),
        UpdateExpression: 'SET enqueued = :t',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':t': true },
      }),
    );
  }

  /** `in_progress` to `cancelling`; false when the batch is in another state. */
  async cancel(tenantId: string, batchId: string, at: number): Promise<boolean> {
    return this.conditional({
      Key: keys.batch(tenantId, batchId),
      UpdateExpression: 'SET #status = :cancelling, cancellingAt = :at',
      ConditionExpression: '#status = :in_progress',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':cancelling': 'cancelling', ':in_progress': 'in_progress', ':at': at },
    });
  }

  /** Records why the remaining lines will not run (the first reason wins). */
  async stop(tenantId: string, batchId: string, stop: BatchStop): Promise<boolean> {
    return this.conditional({
      Key: keys.batch(tenantId, batchId),
      UpdateExpression: 'SET stopped = :stop',
      ConditionExpression: 'attribute_not_exists(stopped) OR stopped = :null',
      ExpressionAttributeValues: { ':stop': stop, ':null': null },
    });
  }

  /** The lines answered between `from` and `to` (exclusive), in order. */
  async lines(batchId: string, from = 0, to = 10_000_000): Promise<StoredLine[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
      ExpressionAttributeValues: {
        ':pk': keys.batchWorkPartition(batchId),
        ':lo': keys.batchLine(batchId, from).sk,
        ':hi': keys.batchLine(batchId, Math.max(from, to - 1)).sk,
      },
    });
    return items.map((i) => lineEntity.from(i));
  }

  /**
   * The lines answered so far, without their answers: which line, when, how and by which version
   * (the operators' backlog and throughput read these, not the bodies).
   */
  async lineMarks(
    batchId: string,
  ): Promise<{ line: number; at: number; outcome: LineResult['outcome']; served: string | null }[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
      ProjectionExpression: '#line, #at, outcome, served',
      ExpressionAttributeNames: { '#line': 'line', '#at': 'at' },
      ExpressionAttributeValues: { ':pk': keys.batchWorkPartition(batchId), ':p': keys.batchLinePrefix() },
    });
    return items.map((i) => ({
      line: Number(i.line),
      at: Number(i.at),
      outcome: i.outcome as LineResult['outcome'],
      served: (i.served as string | undefined) ?? null,
    }));
  }

  /**
   * Writes a line's result, counted in its chunk, once: false when the line already has one, or
   * when the batch no longer runs lines (it is being finalized): then this result is not written.
   */
  async writeLine(
    tenantId: string,
    batchId: string,
    chunk: number,
    line: StoredLine,
  ): Promise<'written' | 'duplicate' | 'closed'> {
    const { response, ...rest } = line;
    const result = await transact(this.doc, [
      {
        Put: {
          TableName: this.table,
          Item: lineEntity.item(keys.batchLine(batchId, line.line), {
            ...rest,
            ...(response
              ? {
                  statusCode: response.statusCode,
                  ...(response.body !== null ? { body: response.body } : {}),
                  ...(response.bodyKey !== null ? { bodyKey: response.bodyKey } : {}),
                }
              : {}),
          }),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Update: {
          TableName: this.table,
          Key: keys.batchChunk(batchId, chunk),
          UpdateExpression: 'SET #type = :type ADD #n :one',
          ExpressionAttributeNames: { '#type': 'type', '#n': line.outcome },
          ExpressionAttributeValues: { ':type': 'batch_chunk', ':one': 1 },
        },
      },
      {
        ConditionCheck: {
          TableName: this.table,
          Key: keys.batch(tenantId, batchId),
          ConditionExpression: '#status IN (:a, :b)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':a': RUNNING[0], ':b': RUNNING[1] },
        },
      },
    ]);
    if (result.ok) return 'written';
    const reasons = result.reasons;
    if (reasons[0]?.Code === 'ConditionalCheckFailed') return 'duplicate';
    if (reasons[2]?.Code === 'ConditionalCheckFailed') return 'closed';
    throw new Error(`batch line not written: ${reasons.map((r) => r.Code).join(', ')}`);
  }

  /**
   * Marks a chunk finished (all its lines answered) and counts it on the batch, once. Returns the
   * batch's finished chunks after this one, or undefined if the chunk was finished already.
   */
  async finishChunk(tenantId: string, batchId: string, chunk: number): Promise<number | undefined> {
    const result = await transact(this.doc, [
      {
        Update: {
          TableName: this.table,
          Key: keys.batchChunk(batchId, chunk),
          UpdateExpression: 'SET #type = :type, finished = :t',
          ConditionExpression: 'attribute_not_exists(finished)',
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: { ':type': 'batch_chunk', ':t': true },
        },
      },
      {
        Update: {
          TableName: this.table,
          Key: keys.batch(tenantId, batchId),
          UpdateExpression: 'ADD chunksFinished :one',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':one': 1 },
        },
      },
    ]);
    if (!result.ok) return undefined;
    return (await this.getBatch(tenantId, batchId))?.chunksFinished;
  }

  /** `in_progress` or `cancelling` to `finalizing` (or a finalization older than `staleBefore` taken over). */
  async beginFinalize(tenantId: string, batchId: string, at: number, staleBefore: number): Promise<boolean> {
    return this.conditional({
      Key: keys.batch(tenantId, batchId),
      UpdateExpression:
        'SET #status = :finalizing, finalizingAt = :at, finalizingFrom = if_not_exists(finalizingFrom, #status)',
      ConditionExpression: '#status IN (:a, :b) OR (#status = :finalizing AND finalizingAt < :stale)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':finalizing': 'finalizing',
        ':a': 'in_progress',
        ':b': 'cancelling',
        ':at': at,
        ':stale': staleBefore,
      },
    });
  }

  /** What the batch was before it began finalizing (`in_progress` or `cancelling`). */
  async finalizingFrom(tenantId: string, batchId: string): Promise<BatchStatus | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keys.batch(tenantId, batchId), ConsistentRead: true }),
    );
    return out.Item?.finalizingFrom as BatchStatus | undefined;
  }

  /**
   * Ends a finalizing batch in its final state with its output files and counts, lets go of its
   * input file, and takes it off the active list: one transaction, once.
   */
  async complete(
    batch: Batch,
    final: {
      status: 'completed' | 'expired' | 'cancelled' | 'failed';
      at: number;
      counts: RequestCounts;
      outputFileId: string | null;
      errorFileId: string | null;
      files: BatchFile[];
    },
  ): Promise<boolean> {
    const stamp = {
      completed: 'completedAt',
      expired: 'expiredAt',
      cancelled: 'cancelledAt',
      failed: 'failedAt',
    }[final.status];
    const result = await transact(this.doc, [
      {
        Update: {
          TableName: this.table,
          Key: keys.batch(batch.tenantId, batch.id),
          // Off the active list, onto the day's ended batches (the backlog's throughput).
          UpdateExpression: `SET #status = :status, ${stamp} = :at, requestCounts = :counts, outputFileId = :out, errorFileId = :err, gsi1pk = :donePk, gsi1sk = :doneSk`,
          ConditionExpression: '#status = :finalizing',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': final.status,
            ':at': final.at,
            ':counts': final.counts,
            ':out': final.outputFileId,
            ':err': final.errorFileId,
            ':finalizing': 'finalizing',
            ':donePk': keys.finishedBatchesIndex(new Date(final.at * 1000).toISOString().slice(0, 10)),
            ':doneSk': `${final.at}#${batch.id}`,
          },
        },
      },
      {
        Update: {
          TableName: this.table,
          Key: keys.batchFile(batch.tenantId, batch.inputFileId),
          UpdateExpression: 'ADD inUse :minus',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':minus': -1 },
        },
      },
      ...final.files.map((f) => ({
        Put: {
          TableName: this.table,
          Item: fileEntity.item(keys.batchFile(f.tenantId, f.id), { ...f, inUse: 0 }),
        },
      })),
    ]);
    return result.ok;
  }

  private async conditional(input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>) {
    try {
      await this.doc.send(new UpdateCommand({ TableName: this.table, ...input }));
      return true;
    } catch (err) {
      if (isConditionalFailure(err)) return false;
      throw err;
    }
  }
}
