import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { hashToken, looksLikeToken, randomToken } from '../auth/tokens';
import { keys } from '../db/keys';

export type TokenPurpose = 'verify_email' | 'reset_password' | 'invitation';

/** Each kind of token says what it is, so a reset token pasted into verify is caught at a glance. */
export const tokenPrefixes: Record<TokenPurpose, string> = {
  verify_email: 'tgv_',
  reset_password: 'tgp_',
  invitation: 'tgi_',
};

export type TokenLookup<T> =
  | { status: 'ok'; data: T; hash: string; expiresAt: string }
  | { status: 'unknown' }
  | { status: 'expired' };

/**
 * Single-use email tokens (verification, password reset, invitation), stored only as the SHA-256
 * of the token, under their own partition with a TTL. Using one deletes it in the same
 * transaction as its effect, conditionally, so a token works exactly once.
 */
export class OneTimeTokenStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** A new token and the Put that stores its hash (for the caller's transaction or `save`). */
  mint<T extends Record<string, unknown>>(purpose: TokenPurpose, data: T, expiresAt: Date) {
    const token = randomToken(tokenPrefixes[purpose]);
    const hash = hashToken(token);
    const put = {
      Put: {
        TableName: this.table,
        Item: {
          ...keys.oneTimeToken(purpose, hash),
          type: 'one_time_token',
          purpose,
          data,
          expiresAt: expiresAt.toISOString(),
          ttl: Math.ceil(expiresAt.getTime() / 1000),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
    return { token, hash, put };
  }

  async save(put: { Put: { TableName: string; Item: Record<string, unknown> } }): Promise<void> {
    await this.doc.send(new PutCommand({ ...put.Put, ConditionExpression: 'attribute_not_exists(pk)' }));
  }

  async find<T>(purpose: TokenPurpose, token: string, now: Date): Promise<TokenLookup<T>> {
    if (!looksLikeToken(token, tokenPrefixes[purpose])) return { status: 'unknown' };
    const hash = hashToken(token);
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keys.oneTimeToken(purpose, hash), ConsistentRead: true }),
    );
    if (!out.Item) return { status: 'unknown' };
    // TTL deletion lags by up to days in the cloud: the expiry is checked here, not left to it.
    if (Date.parse(out.Item.expiresAt as string) <= now.getTime()) return { status: 'expired' };
    return { status: 'ok', data: out.Item.data as T, hash, expiresAt: out.Item.expiresAt as string };
  }

  /** The Delete that spends a token, for the transaction that applies its effect. */
  spendItem(purpose: TokenPurpose, hash: string) {
    return {
      Delete: {
        TableName: this.table,
        Key: keys.oneTimeToken(purpose, hash),
        ConditionExpression: 'attribute_exists(pk)',
      },
    };
  }

  async delete(purpose: TokenPurpose, hash: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: keys.oneTimeToken(purpose, hash) }));
  }
}
