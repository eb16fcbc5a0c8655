import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../db/keys';
import type { LimitOverrides } from '../quotas/plans';

export type ApiKeyStatus = 'active' | 'revoked';

/** A key as its owner sees it. Never holds the secret; the hash stays in the store. */
export interface ApiKey {
  id: string;
  tenantId: string;
  name: string;
  visiblePrefix: string;
  status: ApiKeyStatus;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  /** Narrower per-key limits, set by the owner. */
  limits?: LimitOverrides;
}

/** What the hot path reads by hash: just enough to authorise and limit a call. */
export interface ApiKeyLookup {
  keyId: string;
  tenantId: string;
  status: ApiKeyStatus;
  scopes: string[];
  expiresAt: string | null;
  /** The owner's per-key limits (only ever narrower than the tenant's). */
  limits?: LimitOverrides;
}

/** API keys in the `main` table: the record under its tenant and a lookup item under its hash. */
export class ApiKeyStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Writes the record and its hash lookup together, so neither exists without the other. */
  async create(key: ApiKey, hash: string): Promise<void> {
    const lookup: ApiKeyLookup = {
      keyId: key.id,
      tenantId: key.tenantId,
      status: key.status,
      scopes: key.scopes,
      expiresAt: key.expiresAt,
      ...(key.limits ? { limits: key.limits } : {}),
    };
    await this.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.table,
              // The hash (not the secret) is kept on the record to find the lookup item on revoke.
              Item: { ...keys.apiKey(key.tenantId, key.id), type: 'api_key', ...key, hash },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: this.table,
              Item: { ...keys.apiKeyHash(hash), type: 'api_key_hash', ...lookup },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
  }

  /** One GetItem by hash: the whole store cost of authenticating an API key. */
  async findByHash(hash: string): Promise<ApiKeyLookup | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.apiKeyHash(hash) }));
    if (!out.Item) return undefined;
    const item = out.Item;
    return {
      keyId: item.keyId as string,
      tenantId: item.tenantId as string,
      status: item.status as ApiKeyStatus,
      scopes: (item.scopes as string[] | undefined) ?? [],
      expiresAt: (item.expiresAt as string | null | undefined) ?? null,
      ...(item.limits ? { limits: item.limits as LimitOverrides } : {}),
    };
  }

  /**
   * Marks a key revoked, its record and its hash lookup together. False when the tenant has no
   * such key (another tenant's key id is simply not found).
   */
  async revoke(tenantId: string, keyId: string): Promise<boolean> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keys.apiKey(tenantId, keyId), ConsistentRead: true }),
    );
    const hash = out.Item?.hash as string | undefined;
    if (!hash) return false;
    const update = {
      UpdateExpression: 'SET #s = :r',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':r': 'revoked' },
    };
    await this.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Update: { TableName: this.table, Key: keys.apiKey(tenantId, keyId), ...update } },
          { Update: { TableName: this.table, Key: keys.apiKeyHash(hash), ...update } },
        ],
      }),
    );
    return true;
  }
}
