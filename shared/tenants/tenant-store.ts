import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../db/keys';
import type { LimitOverrides } from '../quotas/plans';

export type TenantStatus = 'pending_verification' | 'active' | 'past_due' | 'suspended';

export interface Tenant {
  id: string;
  name: string;
  status: TenantStatus;
  plan: string;
  createdAt: string;
  /** An operator's changes to the plan's limits for this tenant. */
  limitOverrides?: LimitOverrides;
  /** The owner's own monthly spend cap (nano-USD); it can only lower the plan's. */
  spendCapNanoUsd?: number;
}

/** Statuses whose keys may call the models. `past_due` still serves, inside its grace period. */
export function tenantMayCall(status: TenantStatus): boolean {
  return status === 'active' || status === 'past_due';
}

/** Tenants in the `main` table. */
export class TenantStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(tenantId: string): Promise<Tenant | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.tenant(tenantId) }));
    return out.Item ? toTenant(out.Item) : undefined;
  }

  /** Changes a tenant's status; false when there is no such tenant. */
  async setStatus(tenantId: string, status: TenantStatus): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.tenant(tenantId),
          UpdateExpression: 'SET #s = :s',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': status },
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  /** Creates a tenant; false when the id is already taken. */
  async create(tenant: Tenant): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.tenant(tenant.id), type: 'tenant', ...tenant },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }
}

function toTenant(item: Record<string, unknown>): Tenant {
  return {
    id: item.id as string,
    name: item.name as string,
    status: item.status as TenantStatus,
    plan: item.plan as string,
    createdAt: item.createdAt as string,
    ...(item.limitOverrides ? { limitOverrides: item.limitOverrides as LimitOverrides } : {}),
    ...(item.spendCapNanoUsd !== undefined ? { spendCapNanoUsd: Number(item.spendCapNanoUsd) } : {}),
  };
}
