import { type DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditionHeld } from '../db/conditions';
import { entity } from '../db/entity';
import { keys } from '../db/keys';
import { queryPage } from '../db/query';
import type { TransactItem } from '../db/transact';
import type { LimitOverrides } from '../quotas/plans';

export type TenantStatus = 'pending_verification' | 'active' | 'past_due' | 'suspended';

export interface Tenant {
  id: string;
  name: string;
  status: TenantStatus;
  plan: string;
  createdAt: string;
  /** Where account notices go; the owner's address at signup. */
  contactEmail?: string | null;
  /** An operator's changes to the plan's limits for this tenant. */
  limitOverrides?: LimitOverrides;
  /** The owner's own monthly spend cap (nano-USD); it can only lower the plan's. */
  spendCapNanoUsd?: number;
  /** Bumped by every change of `limitOverrides`: operators' edits are conditional on it. */
  limitsRevision?: number;
  /** When a payment failed (status `past_due`): the grace period runs from here. */
  pastDueSince?: string;
  /** `prepaid`: requests are admitted against the credit balance and refused at zero. */
  billingMode?: 'prepaid';
  /**
   * Free-only: the tenant is admitted against its credit balance whatever its billing mode, so
   * nothing it does can be invoiced; at zero it is refused. On for new trial tenants.
   */
  freeOnly?: boolean;
}

export interface TenantPage {
  tenants: Tenant[];
  /** Pass back to read the next page; null on the last one. */
  cursor: string | null;
}

/** The name-search item's sort key: lower-cased name, then id (names are not unique). */
function nameSortKey(name: string, id: string): string {
  return `${name.toLowerCase()}#${id}`;
}

/** A tenant, listed newest first in gsi1 `TENANTS`. */
export const tenantEntity = entity({ type: 'tenant', key: keys.tenant, from: toTenant });

/** A tenant's name, lower-cased, in gsi1 `TENANTS_BY_NAME` (for prefix search). */
const tenantNameEntity = entity({
  type: 'tenant_name',
  key: keys.tenantName,
  from: (item) => item.tenantId as string,
});

/**
 * The items that make a tenant: the tenant (listed newest first in gsi1 `TENANTS`) and its name
 * item (in gsi1 `TENANTS_BY_NAME`, for prefix search). For use in larger transactions (signup).
 */
export function tenantPutItems(table: string, tenant: Tenant) {
  return [
    {
      Put: {
        TableName: table,
        Item: tenantEntity.item(tenantEntity.key(tenant.id), {
          ...tenant,
          gsi1pk: keys.tenantsIndex(),
          gsi1sk: `${tenant.createdAt}#${tenant.id}`,
        }),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Put: {
        TableName: table,
        Item: tenantNameEntity.item(tenantNameEntity.key(tenant.id), {
          tenantId: tenant.id,
          gsi1pk: keys.tenantNameIndex(),
          gsi1sk: nameSortKey(tenant.name, tenant.id),
        }),
      },
    },
  ];
}

/** Statuses whose keys may call the models. `past_due` still serves, inside its grace period. */
export function tenantMayCall(status: TenantStatus): boolean {
  return status === 'active' || status === 'past_due';
}

/** Tenants in the `main` table. */
export class TenantStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
  ) {}

  async get(tenantId: string, opts: { consistent?: boolean } = {}): Promise<Tenant | undefined> {
    return tenantEntity.get(this.doc, this.table, tenantEntity.key(tenantId), opts);
  }

  /** Changes a tenant's status; false when there is no such tenant. */
  async setStatus(tenantId: string, status: TenantStatus): Promise<boolean> {
    return conditionHeld(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: tenantEntity.key(tenantId),
          UpdateExpression: 'SET #s = :s',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': status },
        }),
      ),
    );
  }

  /** Creates a tenant; false when the id is already taken. */
  async create(tenant: Tenant): Promise<boolean> {
    return conditionHeld(
      this.doc.send(new TransactWriteCommand({ TransactItems: tenantPutItems(this.table, tenant) })),
    );
  }

  /**
   * Sets (or, with null, removes) the owner's monthly spend cap. With `change`: only if the cap is
   * still `change.from` (null: none), and with `change.also` (its audit entry) in the same
   * transaction. False when there is no such tenant, or its cap is no longer `from`.
   */
  async setSpendCap(
    tenantId: string,
    capNanoUsd: number | null,
    change?: { from: number | null; also: TransactItem[] },
  ): Promise<boolean> {
    const condition =
      change === undefined
        ? 'attribute_exists(pk)'
        : change.from === null
          ? 'attribute_exists(pk) AND attribute_not_exists(spendCapNanoUsd)'
          : 'spendCapNanoUsd = :from';
    const values = {
      ...(capNanoUsd === null ? {} : { ':c': capNanoUsd }),
      ...(change && change.from !== null ? { ':from': change.from } : {}),
    };
    const update = {
      TableName: this.table,
      Key: tenantEntity.key(tenantId),
      UpdateExpression: capNanoUsd === null ? 'REMOVE spendCapNanoUsd' : 'SET spendCapNanoUsd = :c',
      ConditionExpression: condition,
      ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
    };
    if (!change) return conditionHeld(this.doc.send(new UpdateCommand(update)));
    return conditionHeld(
      this.doc.send(new TransactWriteCommand({ TransactItems: [{ Update: update }, ...change.also] })),
    );
  }

  /** Renames a tenant or changes its contact; keeps the name-search item in step. False when absent. */
  async updateProfile(tenantId: string, change: { name?: string; contactEmail?: string }): Promise<boolean> {
    const sets: string[] = [];
    const values: Record<string, unknown> = {};
    if (change.name !== undefined) {
      sets.push('#n = :n');
      values[':n'] = change.name;
    }
    if (change.contactEmail !== undefined) {
      sets.push('contactEmail = :c');
      values[':c'] = change.contactEmail;
    }
    if (sets.length === 0) return (await this.get(tenantId)) !== undefined;
    return conditionHeld(
      this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.table,
                Key: tenantEntity.key(tenantId),
                UpdateExpression: `SET ${sets.join(', ')}`,
                ConditionExpression: 'attribute_exists(pk)',
                ExpressionAttributeNames: change.name !== undefined ? { '#n': 'name' } : undefined,
                ExpressionAttributeValues: values,
              },
            },
            ...(change.name !== undefined
              ? [
                  {
                    Update: {
                      TableName: this.table,
                      Key: tenantNameEntity.key(tenantId),
                      UpdateExpression: 'SET gsi1sk = :s, gsi1pk = :p, #t = :t, tenantId = :id',
                      ExpressionAttributeNames: { '#t': 'type' },
                      ExpressionAttributeValues: {
                        ':s': nameSortKey(change.name, tenantId),
                        ':p': keys.tenantNameIndex(),
                        ':t': 'tenant_name',
                        ':id': tenantId,
                      },
                    },
                  },
                ]
              : []),
          ],
        }),
      ),
    );
  }

  /** Every tenant, newest first, a page at a time (one Query on gsi1). */
  async list(opts: { limit: number; cursor?: string }): Promise<TenantPage | 'bad_cursor'> {
    const page = await queryPage(
      this.doc,
      {
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': keys.tenantsIndex() },
        ScanIndexForward: false,
      },
      { ...opts, partition: { gsi1pk: keys.tenantsIndex() } },
    );
    if (page === 'bad_cursor') return page;
    return { tenants: page.items.map(tenantEntity.from), cursor: page.cursor };
  }

  /** Tenants whose name starts with `prefix` (case-insensitive), by name. */
  async searchByName(
    prefix: string,
    opts: { limit: number; cursor?: string },
  ): Promise<TenantPage | 'bad_cursor'> {
    const page = await queryPage(
      this.doc,
      {
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p AND begins_with(gsi1sk, :q)',
        ExpressionAttributeValues: { ':p': keys.tenantNameIndex(), ':q': prefix.toLowerCase() },
      },
      { ...opts, partition: { gsi1pk: keys.tenantNameIndex() } },
    );
    if (page === 'bad_cursor') return page;
    const ids = page.items.map(tenantNameEntity.from);
    const tenants = (await Promise.all(ids.map((id) => this.get(id)))).filter((t): t is Tenant => !!t);
    return { tenants, cursor: page.cursor };
  }
}

function toTenant(item: Record<string, unknown>): Tenant {
  return {
    id: item.id as string,
    name: item.name as string,
    status: item.status as TenantStatus,
    plan: item.plan as string,
    createdAt: item.createdAt as string,
    contactEmail: (item.contactEmail as string | undefined) ?? null,
    ...(item.limitOverrides ? { limitOverrides: item.limitOverrides as LimitOverrides } : {}),
    ...(item.spendCapNanoUsd !== undefined ? { spendCapNanoUsd: Number(item.spendCapNanoUsd) } : {}),
    ...(item.limitsRevision !== undefined ? { limitsRevision: Number(item.limitsRevision) } : {}),
    ...(typeof item.pastDueSince === 'string' ? { pastDueSince: item.pastDueSince } : {}),
    ...(item.billingMode === 'prepaid' ? { billingMode: 'prepaid' as const } : {}),
    ...(item.freeOnly === true ? { freeOnly: true } : {}),
  };
}
