import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { conditionHeld, ifConditionFails } from '../db/conditions';
import { keys } from '../db/keys';
import { hashToken } from './tokens';

export interface WindowRule {
  /** What is counted, e.g. `login-email`; part of the item key. */
  bucket: string;
  max: number;
  windowSeconds: number;
}

/** Exponential back-off after a window's budget runs out: base * 2^(strikes-1), at most max. */
export interface BackoffRule {
  bucket: string;
  baseSeconds: number;
  maxSeconds: number;
  /** Strikes are forgotten this long after the last lockout ended. */
  forgetSeconds: number;
}

export interface Strike {
  strikes: number;
  retryAfterSeconds: number;
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
    const counted = await conditionHeld(
      this.doc.send(
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
      ),
    );
    if (!counted) {
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((start + windowMs - nowMs) / 1000)) };
    }
    return {
      ok: true,
      release: async () => {
        await ifConditionFails(
          this.doc.send(
            new UpdateCommand({
              TableName: this.table,
              Key: key,
              UpdateExpression: 'ADD #n :minus',
              ConditionExpression: '#n > :zero',
              ExpressionAttributeNames: { '#n': 'count' },
              ExpressionAttributeValues: { ':minus': -1, ':zero': 0 },
            }),
          ),
          () => undefined,
        );
      },
    };
  }

  /** Seconds left on a subject's lockout; 0 when it may try. */
  async lockedFor(bucket: string, subject: string): Promise<number> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keys.lockout(bucket, hashToken(subject.toLowerCase())) }),
    );
    const until = Number(out.Item?.until ?? 0);
    return Math.max(0, Math.ceil((until - this.now().getTime()) / 1000));
  }

  /**
   * Records that a subject ran out of budget and locks it out: the n-th lockout in a row lasts
   * base * 2^(n-1) seconds (capped), and never less than `atLeastSeconds` (the rest of the window,
   * so the lockout does not end into a window that is still spent). Concurrent strikes may count
   * once between them; the lockout still holds.
   */
  async strike(rule: BackoffRule, subject: string, atLeastSeconds: number): Promise<Strike> {
    const key = keys.lockout(rule.bucket, hashToken(subject.toLowerCase()));
    const nowMs = this.now().getTime();
    const prev = (await this.doc.send(new GetCommand({ TableName: this.table, Key: key }))).Item;
    const remembered = prev && Number(prev.until) + rule.forgetSeconds * 1000 > nowMs;
    const strikes = remembered ? Number(prev.strikes ?? 0) + 1 : 1;
    const backoff = Math.min(rule.maxSeconds, rule.baseSeconds * 2 ** Math.min(strikes - 1, 30));
    const seconds = Math.max(atLeastSeconds, backoff);
    const until = nowMs + seconds * 1000;
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...key,
          type: 'lockout',
          strikes,
          until,
          ttl: Math.ceil(until / 1000) + rule.forgetSeconds,
        },
      }),
    );
    return { strikes, retryAfterSeconds: seconds };
  }

  /** Forgets a subject's strikes (it proved itself, e.g. the right password outside a lockout). */
  async clearStrikes(bucket: string, subject: string): Promise<void> {
    await this.doc.send(
      new DeleteCommand({
        TableName: this.table,
        Key: keys.lockout(bucket, hashToken(subject.toLowerCase())),
      }),
    );
  }
}
