import { randomBytes } from 'node:crypto';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { isConditionalFailure } from '../db/conditions';
import { entity } from '../db/entity';
import { keys } from '../db/keys';
import { encodeTime } from '../ids';
import type { RequestLine } from './jsonl';
import type { Batch, WorkMessage } from './types';

/** Where batch work is handed to the workers: SQS in AWS, a queue in the main table locally. */
export interface WorkQueue {
  send(messages: WorkMessage[]): Promise<void>;
}

/** SQS: the worker function's event source reads it (ReportBatchItemFailures; a DLQ after 5 receives). */
export class SqsWorkQueue implements WorkQueue {
  private readonly sqs: SQSClient;

  constructor(
    private readonly queueUrl: string,
    region: string,
  ) {
    this.sqs = new SQSClient({ region });
  }

  async send(messages: WorkMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const entries = messages
        .slice(i, i + 10)
        .map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m) }));
      const out = await this.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }),
      );
      if (out.Failed && out.Failed.length > 0) {
        throw new Error(
          `SQS refused ${out.Failed.length} batch work messages: ${out.Failed[0]?.Message ?? ''}`,
        );
      }
    }
  }
}

/** A message as the local queue hands it out: its body, and what deletes or releases it. */
export interface ReceivedMessage {
  id: string;
  body: WorkMessage;
  /** How many times it was handed out, this time included (SQS's ApproximateReceiveCount). */
  receives: number;
  token: string;
}

const message = entity({
  type: 'queue_message',
  key: keys.queueMessage,
  from: (item) => ({
    id: String(item.sk).slice('MSG#'.length),
    body: JSON.parse(String(item.body)) as WorkMessage,
    receives: Number(item.receives ?? 0),
    visibleAt: Number(item.visibleAt ?? 0),
    token: String(item.token ?? ''),
  }),
});

/**
 * The local stand-in for SQS, kept in DynamoDB so that it survives a worker that dies: a message
 * handed out is invisible for `visibilityMs`, then handed out again unless deleted; after
 * `maxReceives` it moves to the dead-letter partition, as SQS's redrive policy does.
 */
export class DynamoWorkQueue implements WorkQueue {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly name = 'batch-work',
    private readonly opts: { visibilityMs: number; maxReceives: number } = {
      visibilityMs: 120_000,
      maxReceives: 5,
    },
    private readonly now: () => number = Date.now,
  ) {}

  async send(messages: WorkMessage[]): Promise<void> {
    for (const m of messages) {
      const id = `${encodeTime(this.now())}${randomBytes(8).toString('hex')}`;
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: message.item(keys.queueMessage(this.name, id), {
            body: JSON.stringify(m),
            receives: 0,
            visibleAt: 0,
          }),
        }),
      );
    }
  }

  /** Up to `max` visible messages, each now invisible to others for the visibility timeout. */
  async receive(max: number): Promise<ReceivedMessage[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        FilterExpression: 'visibleAt <= :now',
        ExpressionAttributeValues: { ':pk': keys.queuePartition(this.name), ':now': this.now() },
        Limit: 200,
      }),
    );
    const got: ReceivedMessage[] = [];
    for (const item of out.Items ?? []) {
      if (got.length >= max) break;
      const m = message.from(item);
      if (m.receives >= this.opts.maxReceives) {
        await this.deadLetter(item);
        continue;
      }
      const token = randomBytes(8).toString('hex');
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.queueMessage(this.name, m.id),
            UpdateExpression: 'SET visibleAt = :until, #token = :token ADD receives :one',
            ConditionExpression: 'visibleAt = :seen',
            ExpressionAttributeNames: { '#token': 'token' },
            ExpressionAttributeValues: {
              ':until': this.now() + this.opts.visibilityMs,
              ':token': token,
              ':one': 1,
              ':seen': m.visibleAt,
            },
          }),
        );
        got.push({ id: m.id, body: m.body, receives: m.receives + 1, token });
      } catch (err) {
        if (!isConditionalFailure(err)) throw err;
        // Another worker took it first.
      }
    }
    return got;
  }

  /** Done with: gone from the queue (only by the receipt that holds it). */
  async delete(m: ReceivedMessage): Promise<void> {
    await this.doc
      .send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.queueMessage(this.name, m.id),
          ConditionExpression: '#token = :token',
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: { ':token': m.token },
        }),
      )
      .catch((err: unknown) => {
        if (!isConditionalFailure(err)) throw err;
      });
  }

  /** Messages waiting or in flight (the backlog), and those dead-lettered. */
  async depth(): Promise<{ waiting: number; dead: number }> {
    const count = async (pk: string) =>
      (
        await this.doc.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            Select: 'COUNT',
          }),
        )
      ).Count ?? 0;
    return {
      waiting: await count(keys.queuePartition(this.name)),
      dead: await count(keys.queuePartition(`${this.name}-dead`)),
    };
  }

  private async deadLetter(item: Record<string, unknown>): Promise<void> {
    const m = message.from(item);
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: message.item(keys.queueMessage(`${this.name}-dead`, m.id), {
          body: item.body,
          receives: m.receives,
          visibleAt: 0,
        }),
      }),
    );
    await this.doc.send(
      new DeleteCommand({ TableName: this.table, Key: keys.queueMessage(this.name, m.id) }),
    );
  }
}

/**
 * One message per chunk of a batch's lines. Given the parsed lines (at creation), each message
 * carries its chunk's byte range in the input file, so its worker reads 50 lines, not the file.
 */
export function chunkMessages(
  batch: Pick<Batch, 'tenantId' | 'id' | 'chunks' | 'chunkLines'>,
  lines?: readonly Pick<RequestLine, 'bytes'>[],
): WorkMessage[] {
  return Array.from({ length: batch.chunks }, (_, chunk) => {
    const first = lines?.[chunk * batch.chunkLines];
    const last = lines?.[Math.min(lines.length, (chunk + 1) * batch.chunkLines) - 1];
    return {
      kind: 'chunk' as const,
      tenantId: batch.tenantId,
      batchId: batch.id,
      chunk,
      ...(first && last ? { bytes: { start: first.bytes.start, end: last.bytes.end } } : {}),
    };
  });
}
