import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { keys } from '../../db/keys';
import { newId } from '../../ids';
import { hashToken, looksLikeToken, randomToken } from '../tokens';
import type { SessionSubject } from './jwt';

/** Refresh tokens are recognisable in a leak scanner, like API keys. */
export const REFRESH_TOKEN_PREFIX = 'tgr_';

export interface Session {
  id: string;
  subject: SessionSubject;
  status: 'active' | 'revoked';
  createdAt: string;
  /** Absolute end: refreshing never extends it. */
  expiresAt: string;
}

export type RefreshResult =
  | { ok: true; session: Session; refreshToken: string }
  | { ok: false; reason: 'unknown' | 'ended' | 'reused' };

function subjectId(s: SessionSubject): string {
  return s.kind === 'user' ? s.userId : s.operatorId;
}

/**
 * Login sessions in the `main` table. A session holds the hash of its one current refresh token;
 * refreshing rotates it, and presenting a rotated token again (a sign it was stolen) ends the session.
 */
export class SessionStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Starts a session and returns its first refresh token (the only time it exists in clear). */
  async create(
    subject: SessionSubject,
    now: Date,
    ttlSeconds: number,
  ): Promise<{ session: Session; refreshToken: string }> {
    const session: Session = {
      id: newId('ses', now.getTime()),
      subject,
      status: 'active',
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + ttlSeconds * 1000).toISOString(),
    };
    const refreshToken = randomToken(REFRESH_TOKEN_PREFIX);
    const hash = hashToken(refreshToken);
    const ttl = Math.ceil(Date.parse(session.expiresAt) / 1000);
    await this.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.table,
              Item: {
                ...keys.session(session.id),
                type: 'session',
                id: session.id,
                kind: subject.kind,
                subjectId: subjectId(subject),
                tenantId: subject.kind === 'user' ? subject.tenantId : undefined,
                status: session.status,
                createdAt: session.createdAt,
                expiresAt: session.expiresAt,
                refreshHash: hash,
                ttl,
                gsi1pk: keys.sessionsOf(subjectId(subject)),
                gsi1sk: session.createdAt,
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: this.table,
              Item: {
                ...keys.refreshToken(hash),
                type: 'refresh_token',
                sessionId: session.id,
                status: 'current',
                ttl,
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
    return { session, refreshToken };
  }

  async get(sessionId: string): Promise<Session | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.session(sessionId) }));
    return out.Item ? toSession(out.Item) : undefined;
  }

  /** Trades a refresh token for a new one. A rotated token presented again revokes the whole session. */
  async refresh(token: string, now: Date): Promise<RefreshResult> {
    if (!looksLikeToken(token, REFRESH_TOKEN_PREFIX)) return { ok: false, reason: 'unknown' };
    const hash = hashToken(token);
    const found = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keys.refreshToken(hash), ConsistentRead: true }),
    );
    if (!found.Item) return { ok: false, reason: 'unknown' };
    const sessionId = found.Item.sessionId as string;
    if (found.Item.status !== 'current') {
      await this.revoke(sessionId);
      return { ok: false, reason: 'reused' };
    }
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keys.session(sessionId), ConsistentRead: true }),
    );
    const session = out.Item ? toSession(out.Item) : undefined;
    if (!session || !isLive(session, now)) return { ok: false, reason: 'ended' };
    const next = randomToken(REFRESH_TOKEN_PREFIX);
    const nextHash = hashToken(next);
    const ttl = Math.ceil(Date.parse(session.expiresAt) / 1000);
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.table,
                Key: keys.session(sessionId),
                UpdateExpression: 'SET refreshHash = :next',
                ConditionExpression: 'refreshHash = :old AND #s = :active',
                ExpressionAttributeNames: { '#s': 'status' },
                ExpressionAttributeValues: { ':next': nextHash, ':old': hash, ':active': 'active' },
              },
            },
            {
              Update: {
                TableName: this.table,
                Key: keys.refreshToken(hash),
                UpdateExpression: 'SET #s = :rotated',
                ConditionExpression: '#s = :current',
                ExpressionAttributeNames: { '#s': 'status' },
                ExpressionAttributeValues: { ':rotated': 'rotated', ':current': 'current' },
              },
            },
            {
              Put: {
                TableName: this.table,
                Item: {
                  ...keys.refreshToken(nextHash),
                  type: 'refresh_token',
                  sessionId,
                  status: 'current',
                  ttl,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
    } catch (err) {
      // Another request rotated this very token first: the same token used twice, so treat it as reuse.
      if ((err as Error).name !== 'TransactionCanceledException') throw err;
      await this.revoke(sessionId);
      return { ok: false, reason: 'reused' };
    }
    return { ok: true, session, refreshToken: next };
  }

  /** Ends a session: its access tokens are refused from the next request on, its refresh token is dead. */
  async revoke(sessionId: string): Promise<void> {
    await this.doc
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.session(sessionId),
          UpdateExpression: 'SET #s = :revoked',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':revoked': 'revoked' },
        }),
      )
      .catch((err: Error) => {
        if (err.name !== 'ConditionalCheckFailedException') throw err;
      });
  }

  /** Ends every session of a user or operator (after a password reset). */
  async revokeAllFor(subject: SessionSubject): Promise<number> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :p',
          ExpressionAttributeValues: { ':p': keys.sessionsOf(subjectId(subject)) },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        if (item.status === 'active') {
          await this.revoke(item.id as string);
          count++;
        }
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return count;
  }
}

/** Whether a session may still be used at `now`. */
export function isLive(session: Session, now: Date): boolean {
  return session.status === 'active' && Date.parse(session.expiresAt) > now.getTime();
}

function toSession(item: Record<string, unknown>): Session {
  const subject: SessionSubject =
    item.kind === 'operator'
      ? { kind: 'operator', operatorId: item.subjectId as string }
      : { kind: 'user', userId: item.subjectId as string, tenantId: item.tenantId as string };
  return {
    id: item.id as string,
    subject,
    status: item.status as Session['status'],
    createdAt: item.createdAt as string,
    expiresAt: item.expiresAt as string,
  };
}
