import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../db/keys';
import { hashToken } from './tokens';

export interface WindowRule {
  /** What is counted, e.g. `login-email`; part of the item key. */
  bucket: string;
  max: number;
  windowSeconds: number;
}

export type Reservation =
  | { ok: true; release: () => Promise<void> }
  | { ok: false; retryAfterSeconds: number };

/**
 * Fixed-window counters in DynamoDB, so a limit holds across every instance. `reserve` counts an
 * attempt before the work (an atomic conditional ADD: concurrent attempts cannot overshoot) and
 * `release` gives it back when the attempt should not count (a successful login). Window items
 * expire through the table's TTL.
 */
export class FixedWindowLimiter {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => Date,
  ) {}

  async reserve(rule: WindowRule, subject: string): Promise<Reservation> {
    const nowMs = this.now().getTime();
    const windowMs = rule.windowSeconds * 1000;
    const start = Math.floor(nowMs / windowMs) * windowMs;
    // The subject (an email, an IP) is hashed: the table never holds addresses people merely typed.
    const key = keys.rateWindow(rule.bucket, hashToken(subject.toLowerCase()), start);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: 'ADD #n :one SET #t = if_not_exists(#t, :type), #ttl = if_not_exists(#ttl, :ttl)',
          ConditionExpression: 'attribute_not_exists(#n) OR #n < :max',
          ExpressionAttributeNames: { '#n': 'count', '#t': 'type', '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':one': 1,
            ':max': rule.max,
            ':type': 'rate_window',
            ':ttl': Math.ceil((start + windowMs) / 1000) + 60,
          },
        }),
      );
    } catch (err) {
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((start + windowMs - nowMs) / 1000)) };
    }
    return {
      ok: true,
      release: async () => {
        await this.doc
          .send(
            new UpdateCommand({
              TableName: this.table,
              Key: key,
              UpdateExpression: 'ADD #n :minus',
              ConditionExpression: '#n > :zero',
              ExpressionAttributeNames: { '#n': 'count' },
              ExpressionAttributeValues: { ':minus': -1, ':zero': 0 },
            }),
          )
          .catch((err: Error) => {
            if (err.name !== 'ConditionalCheckFailedException') throw err;
          });
      },
    };
  }
}
