import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { conditionHeld, ifConditionFails } from '../db/conditions';
import { entity } from '../db/entity';
import { keys } from '../db/keys';
import { queryPage } from '../db/query';
import { type TransactItem, transact } from '../db/transact';
import { DEFAULT_PROJECT_ID } from '../projects/project';
import type { KeyScope } from './key-scope';

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
  /** Limits the owner narrowed this key to. */
  limits?: KeyLimits | null;
  /** The user who made it; null for keys made by the platform (seed, CLI). */
  createdBy?: string | null;
  /** Updated at most once a minute per key (see KeyUsageTracker). */
  lastUsedAt?: string | null;
  /** Set on a key that was rotated: the id of its successor. */
  rotatedTo?: string | null;
  /** The project the key belongs to; absent on keys from before projects (the default project). */
  projectId?: string;
  /** What the key is restricted to (models, endpoints, read-only, addresses); absent: no restriction. */
  scope?: KeyScope | null;
}

/** Who receives a key budget's alert: the tenant's owners, the key's creator, or one member. */
export type BudgetRecipient =
  | { kind: 'owner' }
  | { kind: 'creator' }
  /** A member by user id; `email` is the address they had when named (shown back, not mailed). */
  | { kind: 'member'; userId: string; email: string };

/** One threshold of a key's budget (percent of the monthly amount) and who is told when it is reached. */
export interface KeyBudgetAlertRule {
  threshold: 50 | 80 | 100;
  recipients: BudgetRecipient[];
}

/**
 * `hard_stop`: the monthly amount is a cap, refused at admission (429 `spend_cap_reached`).
 * `alert_only`: never refused; the amount is only measured for the alerts.
 */
export type KeyBudgetMode = 'hard_stop' | 'alert_only';

/** Limits the owner narrowed one key to, enforced on the hot path beside the tenant's. */
export interface KeyLimits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /**
   * The key's monthly budget in nano-USD. A hard stop (the default) is counted on the key's own
   * month counter at admission; an alert-only budget is not seen by admission at all.
   */
  spendCapNanoUsd?: number;
  /** Absent: `hard_stop` (every cap set before budgets had modes). */
  budgetMode?: KeyBudgetMode;
  /** Absent: 50, 80 and 100%, each to the owners and the key's creator. Empty: no alerts. */
  budgetAlerts?: KeyBudgetAlertRule[];
}

export interface ApiKeyPage {
  keys: ApiKey[];
  cursor: string | null;
}

/** What the hot path reads by hash: just enough to authorise a call. */
export interface ApiKeyLookup {
  keyId: string;
  tenantId: string;
  status: ApiKeyStatus;
  scopes: string[];
  expiresAt: string | null;
  /** The owner's per-key limits, enforced on the hot path beside the tenant's. */
  limits?: KeyLimits;
  /** Absent: the default project. */
  projectId?: string;
  scope?: KeyScope;
}

/** A key's record, under its tenant (with the hash of its secret, never the secret). */
const apiKeyEntity = entity({ type: 'api_key', key: keys.apiKey, from: toApiKey });

/** What the hot path reads: a key's lookup item, under the hash of its secret. */
const apiKeyHashEntity = entity({
  type: 'api_key_hash',
  key: keys.apiKeyHash,
  from: (item): ApiKeyLookup => ({
    keyId: item.keyId as string,
    tenantId: item.tenantId as string,
    status: item.status as ApiKeyStatus,
    scopes: (item.scopes as string[] | undefined) ?? [],
    expiresAt: (item.expiresAt as string | null | undefined) ?? null,
    ...(item.limits ? { limits: item.limits as KeyLimits } : {}),
    ...(item.projectId ? { projectId: item.projectId as string } : {}),
    ...(item.scope ? { scope: item.scope as KeyScope } : {}),
  }),
});

/** API keys in the `main` table: the record under its tenant and a lookup item under its hash. */
export class ApiKeyStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Writes the record and its hash lookup together, so neither exists without the other (and
   * `also`, the change's audit entry, in the same transaction).
   */
  async create(key: ApiKey, hash: string, also: TransactItem[] = []): Promise<void> {
    await this.doc.send(
      new TransactWriteCommand({ TransactItems: [...this.createItems(key, hash), ...also] }),
    );
  }

  private createItems(key: ApiKey, hash: string) {
    const lookup: ApiKeyLookup = {
      keyId: key.id,
      tenantId: key.tenantId,
      status: key.status,
      scopes: key.scopes,
      expiresAt: key.expiresAt,
      ...(key.limits ? { limits: key.limits } : {}),
      ...(key.projectId ? { projectId: key.projectId } : {}),
      ...(key.scope ? { scope: key.scope } : {}),
    };
    return [
      {
        Put: {
          TableName: this.table,
          // The hash (not the secret) is kept on the record to find the lookup item on revoke.
          // Never-set fields stay absent (not NULL): the rotate and last-used conditions test existence.
          Item: apiKeyEntity.item(apiKeyEntity.key(key.tenantId, key.id), {
            ...key,
            lastUsedAt: key.lastUsedAt ?? undefined,
            rotatedTo: key.rotatedTo ?? undefined,
            scope: key.scope ?? undefined,
            hash,
          }),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: apiKeyHashEntity.item(apiKeyHashEntity.key(hash), lookup),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ];
  }

  /** A tenant's key record (never the secret; the hash stays inside). Another tenant's id: undefined. */
  async get(tenantId: string, keyId: string): Promise<ApiKey | undefined> {
    return apiKeyEntity.get(this.doc, this.table, apiKeyEntity.key(tenantId, keyId), { consistent: true });
  }

  /**
   * A tenant's keys, oldest first, a page at a time; with `projectId`, only that project's (a
   * filter: a page may hold fewer than `limit` keys, and the cursor still goes on).
   */
  async list(
    tenantId: string,
    opts: { limit: number; cursor?: string; projectId?: string },
  ): Promise<ApiKeyPage | 'bad_cursor'> {
    const pk = keys.tenant(tenantId).pk;
    const filter =
      opts.projectId === undefined
        ? {}
        : {
            // Keys from before projects have no projectId: they are the default project's.
            FilterExpression:
              opts.projectId === DEFAULT_PROJECT_ID
                ? 'attribute_not_exists(projectId) OR projectId = :proj'
                : 'projectId = :proj',
          };
    const page = await queryPage(
      this.doc,
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
        ExpressionAttributeValues: {
          ':p': pk,
          ':s': keys.apiKeyPrefix(),
          ...(opts.projectId === undefined ? {} : { ':proj': opts.projectId }),
        },
        ...filter,
      },
      // The tenant's partition holds more than keys: a cursor must point among its keys.
      { ...opts, partition: { pk }, accept: (start) => !!start.sk?.startsWith(keys.apiKeyPrefix()) },
    );
    if (page === 'bad_cursor') return page;
    return { keys: page.items.map(apiKeyEntity.from), cursor: page.cursor };
  }

  /**
   * Rotation, atomically: the successor (record and hash lookup) is created, and the old key gets
   * its new expiry and a pointer to its successor. Fails (false) when the old key is no longer an
   * active, unrotated key of this tenant.
   */
  async rotate(
    old: ApiKey,
    oldExpiresAt: string,
    successor: ApiKey,
    successorHash: string,
    also: TransactItem[] = [],
  ): Promise<boolean> {
    const oldHash = await this.hashOf(old.tenantId, old.id);
    if (!oldHash) return false;
    return conditionHeld(
      this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            ...this.createItems(successor, successorHash),
            {
              Update: {
                TableName: this.table,
                Key: apiKeyEntity.key(old.tenantId, old.id),
                UpdateExpression: 'SET expiresAt = :e, rotatedTo = :to',
                ConditionExpression: '#s = :active AND attribute_not_exists(rotatedTo)',
                ExpressionAttributeNames: { '#s': 'status' },
                ExpressionAttributeValues: { ':e': oldExpiresAt, ':to': successor.id, ':active': 'active' },
              },
            },
            {
              Update: {
                TableName: this.table,
                Key: apiKeyHashEntity.key(oldHash),
                UpdateExpression: 'SET expiresAt = :e',
                ExpressionAttributeValues: { ':e': oldExpiresAt },
              },
            },
            ...also,
          ],
        }),
      ),
    );
  }

  /**
   * Records use, at most once per `resolutionMs` per key across instances (the condition makes a
   * second writer in the same minute a cheap no-op). Never on the request's critical path.
   */
  async touchLastUsed(tenantId: string, keyId: string, at: Date, resolutionMs: number): Promise<void> {
    await ifConditionFails(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: apiKeyEntity.key(tenantId, keyId),
          UpdateExpression: 'SET lastUsedAt = :now',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt < :before)',
          ExpressionAttributeValues: {
            ':now': at.toISOString(),
            ':before': new Date(at.getTime() - resolutionMs).toISOString(),
          },
        }),
      ),
      () => undefined,
    );
  }

  /** The hash of a tenant's key, to find its lookup item; undefined for another tenant's key. */
  async hashOf(tenantId: string, keyId: string): Promise<string | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: apiKeyEntity.key(tenantId, keyId),
        ConsistentRead: true,
        ProjectionExpression: '#h',
        ExpressionAttributeNames: { '#h': 'hash' },
      }),
    );
    return out.Item?.hash as string | undefined;
  }

  /** One GetItem by hash: the whole store cost of authenticating an API key. */
  async findByHash(hash: string): Promise<ApiKeyLookup | undefined> {
    return apiKeyHashEntity.get(this.doc, this.table, apiKeyHashEntity.key(hash));
  }

  /**
   * Sets (or, with null, removes) a key's limits on its record and its hash lookup together, with
   * `also` (the change's audit entry, made from the key as it was) in the same transaction.
   * False when the tenant has no such key.
   */
  async setLimits(
    tenantId: string,
    keyId: string,
    limits: KeyLimits | null,
    also: (before: ApiKey) => TransactItem[] = () => [],
  ): Promise<boolean> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: apiKeyEntity.key(tenantId, keyId), ConsistentRead: true }),
    );
    const hash = out.Item?.hash as string | undefined;
    if (!out.Item || !hash) return false;
    const update =
      limits === null
        ? { UpdateExpression: 'REMOVE limits' }
        : { UpdateExpression: 'SET limits = :l', ExpressionAttributeValues: { ':l': limits } };
    await this.updateBoth(tenantId, keyId, hash, update, also(toApiKey(out.Item)));
    return true;
  }

  /**
   * Changes a key's scope and expiry (null removes either; absent leaves it) on its record and its
   * hash lookup in one transaction, with `extra` (the audit entry) in the same one. The expiry of a
   * rotated key is its grace period and is not moved: `rotated`. `not_found`: no such key here.
   */
  async updateScope(
    tenantId: string,
    keyId: string,
    change: { scope?: KeyScope | null; expiresAt?: string | null },
    extra: TransactItem[] = [],
  ): Promise<'ok' | 'not_found' | 'rotated'> {
    const hash = await this.hashOf(tenantId, keyId);
    if (!hash) return 'not_found';
    const set: string[] = [];
    const remove: string[] = [];
    const values: Record<string, unknown> = {};
    if (change.scope !== undefined) {
      if (change.scope === null) remove.push('#scope');
      else {
        set.push('#scope = :scope');
        values[':scope'] = change.scope;
      }
    }
    if (change.expiresAt !== undefined) {
      set.push('expiresAt = :e');
      values[':e'] = change.expiresAt;
    }
    if (set.length === 0 && remove.length === 0) return 'ok';
    const update = {
      UpdateExpression: [
        set.length ? `SET ${set.join(', ')}` : '',
        remove.length ? `REMOVE ${remove.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join(' '),
      ...(change.scope !== undefined ? { ExpressionAttributeNames: { '#scope': 'scope' } } : {}),
      ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
    };
    const rotatable = change.expiresAt !== undefined ? ' AND attribute_not_exists(rotatedTo)' : '';
    const out = await transact(this.doc, [
      {
        Update: {
          TableName: this.table,
          Key: apiKeyEntity.key(tenantId, keyId),
          ...update,
          ConditionExpression: `attribute_exists(pk)${rotatable}`,
        },
      },
      { Update: { TableName: this.table, Key: apiKeyHashEntity.key(hash), ...update } },
      ...extra,
    ]);
    if (out.ok) return 'ok';
    return (await this.get(tenantId, keyId)) ? 'rotated' : 'not_found';
  }

  /**
   * Marks a key revoked, its record and its hash lookup together, with `also` (the change's audit
   * entry, made from the key as it was) in the same transaction. False when the tenant has no such
   * key (another tenant's key id is simply not found). A revoked key stays as it is: nothing is
   * written, so a repeated revocation leaves no second entry.
   */
  async revoke(
    tenantId: string,
    keyId: string,
    also: (before: ApiKey) => TransactItem[] = () => [],
  ): Promise<boolean> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: apiKeyEntity.key(tenantId, keyId), ConsistentRead: true }),
    );
    const hash = out.Item?.hash as string | undefined;
    if (!out.Item || !hash) return false;
    if (out.Item.status === 'revoked') return true;
    const update = {
      UpdateExpression: 'SET #s = :r',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':r': 'revoked' },
    };
    // Two revocations at once: the one whose condition fails found the key revoked, as asked.
    await ifConditionFails(
      this.updateBoth(
        tenantId,
        keyId,
        hash,
        { ...update, ConditionExpression: '#s <> :r' },
        also(toApiKey(out.Item)),
      ),
      () => undefined,
    );
    return true;
  }

  /** One change to a key's record and its hash lookup, in one transaction. */
  private async updateBoth(
    tenantId: string,
    keyId: string,
    hash: string,
    update: {
      UpdateExpression: string;
      /** On the record only. */
      ConditionExpression?: string;
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues?: Record<string, unknown>;
    },
    also: TransactItem[] = [],
  ): Promise<void> {
    const { ConditionExpression, ...change } = update;
    await this.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: this.table,
              Key: apiKeyEntity.key(tenantId, keyId),
              ...change,
              ...(ConditionExpression ? { ConditionExpression } : {}),
            },
          },
          { Update: { TableName: this.table, Key: apiKeyHashEntity.key(hash), ...change } },
          ...also,
        ],
      }),
    );
  }
}

function toApiKey(item: Record<string, unknown>): ApiKey {
  return {
    id: item.id as string,
    tenantId: item.tenantId as string,
    name: item.name as string,
    visiblePrefix: item.visiblePrefix as string,
    status: item.status as ApiKeyStatus,
    scopes: (item.scopes as string[] | undefined) ?? [],
    createdAt: item.createdAt as string,
    expiresAt: (item.expiresAt as string | null | undefined) ?? null,
    limits: (item.limits as KeyLimits | null | undefined) ?? null,
    createdBy: (item.createdBy as string | null | undefined) ?? null,
    lastUsedAt: (item.lastUsedAt as string | null | undefined) ?? null,
    rotatedTo: (item.rotatedTo as string | null | undefined) ?? null,
    ...(item.projectId ? { projectId: item.projectId as string } : {}),
    scope: (item.scope as KeyScope | null | undefined) ?? null,
  };
}
