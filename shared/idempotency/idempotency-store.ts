import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../db/keys';

/** A stored answer, replayed byte for byte to a retry with the same key. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type BeginResult =
  | { state: 'new' }
  | { state: 'replay'; response: StoredResponse }
  | { state: 'in_progress' }
  | { state: 'mismatch' };

/** How long a key is remembered: a client's retries happen within minutes; a day is generous. */
const KEEP_S = 24 * 3600;
/** An attempt that never completed (its process died) stops blocking its key after this long. */
const STALE_MS = 15 * 60_000;

/**
 * `Idempotency-Key` records per tenant. The first request with a key claims it (a conditional
 * put); a retry with the same key and the same request gets the first answer back without being
 * served or billed again; the same key with a different request is refused.
 */
export class IdempotencyStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async begin(tenantId: string, key: string, fingerprint: string, now: Date): Promise<BeginResult> {
    const k = keys.idempotency(tenantId, key);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...k,
            type: 'idempotency',
            fingerprint,
            state: 'in_progress',
            startedAt: now.toISOString(),
            ttl: Math.floor(now.getTime() / 1000) + KEEP_S,
          },
          // A stale in-progress claim (a crashed attempt) may be taken over, and so may an abandoned one.
          ConditionExpression: 'attribute_not_exists(pk) OR #s = :a OR (#s = :p AND startedAt < :stale)',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: {
            ':a': 'abandoned',
            ':p': 'in_progress',
            ':stale': new Date(now.getTime() - STALE_MS).toISOString(),
          },
        }),
      );
      return { state: 'new' };
    } catch (err) {
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
    }
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: k, ConsistentRead: true }));
    const item = out.Item;
    if (!item || item.state === 'abandoned') return this.begin(tenantId, key, fingerprint, now);
    if (item.fingerprint !== fingerprint) return { state: 'mismatch' };
    if (item.state !== 'done') return { state: 'in_progress' };
    return { state: 'replay', response: item.response as StoredResponse };
  }

  async complete(tenantId: string, key: string, response: StoredResponse): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.idempotency(tenantId, key),
        UpdateExpression: 'SET #s = :d, #r = :r',
        ExpressionAttributeNames: { '#s': 'state', '#r': 'response' },
        ExpressionAttributeValues: { ':d': 'done', ':r': response },
      }),
    );
  }

  /**
   * Forgets a claim whose request failed (nothing was served or billed), so a retry runs again. The
   * claim is marked abandoned rather than deleted: the data plane, which calls this, may not delete
   * items in a tenant's partition (its tenant and API key items live there; infra/stacks/api-stack.ts).
   */
  async abandon(tenantId: string, key: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.idempotency(tenantId, key),
          UpdateExpression: 'SET #s = :a REMOVE #r',
          ConditionExpression: '#s = :p',
          ExpressionAttributeNames: { '#s': 'state', '#r': 'response' },
          ExpressionAttributeValues: { ':a': 'abandoned', ':p': 'in_progress' },
        }),
      );
    } catch (err) {
      // Already answered or taken over: nothing of this attempt to forget.
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
    }
  }
}
