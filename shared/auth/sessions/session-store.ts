import { type DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ifConditionFails } from '../../db/conditions';
import { entity } from '../../db/entity';
import { keys } from '../../db/keys';
import { queryItems } from '../../db/query';
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

/** A session, in gsi1 under its subject (`SESSIONS#<id>`), so all of one subject's can be ended. */
const sessionEntity = entity({ type: 'session', key: keys.session, from: toSession });

/** A refresh token by its hash: `current`, or `rotated` (kept, to catch its reuse). */
const refreshTokenEntity = entity({
  type: 'refresh_token',
  key: keys.refreshToken,
  from: (i) => ({ sessionId: i.sessionId as string, status: i.status as 'current' | 'rotated' }),
});

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
              Item: sessionEntity.item(sessionEntity.key(session.id), {
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
              }),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: this.table,
              Item: refreshTokenEntity.item(refreshTokenEntity.key(hash), {
                sessionId: session.id,
                status: 'current',
                ttl,
              }),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
    return { session, refreshToken };
  }

  async get(sessionId: string): Promise<Session | undefined> {
    return sessionEntity.get(this.doc, this.table, sessionEntity.key(sessionId));
  }

  /** Trades a refresh token for a new one. A rotated token presented again revokes the whole session. */
  async refresh(token: string, now: Date): Promise<RefreshResult> {
    if (!looksLikeToken(token, REFRESH_TOKEN_PREFIX)) return { ok: false, reason: 'unknown' };
    const hash = hashToken(token);
    const found = await refreshTokenEntity.get(this.doc, this.table, refreshTokenEntity.key(hash), {
      consistent: true,
    });
    if (!found) return { ok: false, reason: 'unknown' };
    const sessionId = found.sessionId;
    if (found.status !== 'current') {
      await this.revoke(sessionId);
      return { ok: false, reason: 'reused' };
    }
    const session = await sessionEntity.get(this.doc, this.table, sessionEntity.key(sessionId), {
      consistent: true,
    });
    if (!session || !isLive(session, now)) return { ok: false, reason: 'ended' };
    const next = randomToken(REFRESH_TOKEN_PREFIX);
    const nextHash = hashToken(next);
    const ttl = Math.ceil(Date.parse(session.expiresAt) / 1000);
    const rotate = this.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: this.table,
              Key: sessionEntity.key(sessionId),
              UpdateExpression: 'SET refreshHash = :next',
              ConditionExpression: 'refreshHash = :old AND #s = :active',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':next': nextHash, ':old': hash, ':active': 'active' },
            },
          },
          {
            Update: {
              TableName: this.table,
              Key: refreshTokenEntity.key(hash),
              UpdateExpression: 'SET #s = :rotated',
              ConditionExpression: '#s = :current',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':rotated': 'rotated', ':current': 'current' },
            },
          },
          {
            Put: {
              TableName: this.table,
              Item: refreshTokenEntity.item(refreshTokenEntity.key(nextHash), {
                sessionId,
                status: 'current',
                ttl,
              }),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
    return ifConditionFails(
      rotate.then((): RefreshResult => ({ ok: true, session, refreshToken: next })),
      // Another request rotated this very token first: the same token used twice, so treat it as reuse.
      async (): Promise<RefreshResult> => {
        await this.revoke(sessionId);
        return { ok: false, reason: 'reused' };
      },
    );
  }

  /** Ends a session: its access tokens are refused from the next request on, its refresh token is dead. */
  async revoke(sessionId: string): Promise<void> {
    // Conditional: a session that does not exist is not made into a revoked one.
    await ifConditionFails(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: sessionEntity.key(sessionId),
          UpdateExpression: 'SET #s = :revoked',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':revoked': 'revoked' },
        }),
      ),
      () => undefined,
    );
  }

  /** Ends every session of a user or operator (after a password reset). */
  async revokeAllFor(subject: SessionSubject): Promise<number> {
    let count = 0;
    const sessions = queryItems(this.doc, {
      TableName: this.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :p',
      ExpressionAttributeValues: { ':p': keys.sessionsOf(subjectId(subject)) },
    });
    for await (const item of sessions) {
      if (item.status === 'active') {
        await this.revoke(item.id as string);
        count++;
      }
    }
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
