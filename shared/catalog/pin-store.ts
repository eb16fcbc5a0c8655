import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { TtlCache } from '../cache';
import { entity } from '../db/entity';
import { keys } from '../db/keys';
import { queryAll } from '../db/query';

export interface ModelPin {
  model: string;
  /** A version id or an alias of the model. */
  version: string;
  updatedAt: string;
}

const pinEntity = entity({
  type: 'model_pin',
  key: keys.modelPin,
  from: (item): ModelPin => ({
    model: item.model as string,
    version: item.version as string,
    updatedAt: item.updatedAt as string,
  }),
});

/**
 * Tenants' model pins under the tenant partition (`TENANT#t / PIN#<model>`). The hot path reads all
 * of a tenant's pins in one Query and caches them for `ttlMs` (the same bound as API keys), so a
 * pin change reaches every gateway instance within that time and at once on the one that made it.
 */
export class PinStore {
  private readonly cache: TtlCache<Record<string, string>>;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    ttlMs: number,
  ) {
    this.cache = new TtlCache(ttlMs, 10_000);
  }

  /** model -> version or alias, for the resolver. */
  forTenant(tenantId: string): Promise<Record<string, string>> {
    return this.cache.getOrLoad(tenantId, async () => {
      const pins: Record<string, string> = {};
      for (const pin of await this.list(tenantId)) pins[pin.model] = pin.version;
      return pins;
    });
  }

  /** Every pin of a tenant, read from the store (never cached). */
  async list(tenantId: string): Promise<ModelPin[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
      ExpressionAttributeValues: { ':pk': keys.tenant(tenantId).pk, ':p': keys.modelPinPrefix() },
    });
    return items.map(pinEntity.from);
  }

  /** Sets (or replaces) a pin. The caller has checked that it points at a usable version. */
  async set(tenantId: string, pin: ModelPin): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: pinEntity.item(pinEntity.key(tenantId, pin.model), { tenantId, ...pin }),
      }),
    );
    this.cache.delete(tenantId);
  }

  /** Removes a pin; false when there was none. */
  async remove(tenantId: string, model: string): Promise<boolean> {
    const out = await this.doc.send(
      new DeleteCommand({
        TableName: this.table,
        Key: pinEntity.key(tenantId, model),
        ReturnValues: 'ALL_OLD',
      }),
    );
    this.cache.delete(tenantId);
    return out.Attributes !== undefined;
  }
}
