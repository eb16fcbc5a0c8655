import { DynamoAuditLog } from '../../shared/audit/audit-log';
import { ApiKeyStore } from '../../shared/auth/api-key-store';
import { ApiKeyAuthenticator } from '../../shared/auth/authenticator';
import { CatalogAdmin } from '../../shared/catalog/catalog-admin';
import { CatalogStore } from '../../shared/catalog/catalog-store';
import { PinStore } from '../../shared/catalog/pin-store';
import { ModelResolver } from '../../shared/catalog/resolver';
import type { Config } from '../../shared/config';
import { createDynamo, type Dynamo } from '../../shared/db/client';
import { tableNames } from '../../shared/db/tables';
import { IdempotencyStore } from '../../shared/idempotency/idempotency-store';
import { newId } from '../../shared/ids';
import type { Logger } from '../../shared/logger';
import { UsageStore } from '../../shared/metering/usage-store';
import type { ModelClient } from '../../shared/models/model-client';
import { SageMakerModelClient } from '../../shared/models/sagemaker-client';
import { PlanStore } from '../../shared/quotas/plan-store';
import { QuotaStore } from '../../shared/quotas/quota-store';
import { TenantStore } from '../../shared/tenants/tenant-store';
import type { ApiDeps } from './env';

/** The stores over one DynamoDB connection. */
export interface Stores {
  dynamo: Dynamo;
  tenants: TenantStore;
  apiKeys: ApiKeyStore;
  catalog: CatalogStore;
  usage: UsageStore;
  pins: PinStore;
  audit: DynamoAuditLog;
  idempotency: IdempotencyStore;
  plans: PlanStore;
  quotas: QuotaStore;
}

export function createStores(config: Config): Stores {
  const dynamo = createDynamo({ region: config.AWS_REGION, endpoint: config.DYNAMODB_ENDPOINT });
  const names = tableNames(config.STAGE);
  return {
    dynamo,
    tenants: new TenantStore(dynamo.doc, names.main),
    apiKeys: new ApiKeyStore(dynamo.doc, names.main),
    catalog: new CatalogStore(dynamo.doc, names.main),
    usage: new UsageStore(dynamo.doc, names.usage),
    pins: new PinStore(dynamo.doc, names.main, config.AUTH_CACHE_TTL_MS),
    audit: new DynamoAuditLog(dynamo.doc, names.main),
    idempotency: new IdempotencyStore(dynamo.doc, names.main),
    plans: new PlanStore(dynamo.doc, names.main, config.CATALOG_CACHE_TTL_MS),
    quotas: new QuotaStore(dynamo.doc, names.main, names.usage),
  };
}

/**
 * Wires the API's dependencies from config: the composition root shared by the Lambda entry and
 * the local server. Endpoint overrides in config are the only difference between the two.
 */
export function createApiDeps(
  config: Config,
  log: Logger,
  overrides: { stores?: Stores; models?: ModelClient; now?: () => Date } = {},
): ApiDeps & { stores: Stores } {
  const stores = overrides.stores ?? createStores(config);
  const now = overrides.now ?? (() => new Date());
  const resolver = new ModelResolver(stores.catalog, config.CATALOG_CACHE_TTL_MS);
  return {
    config,
    log,
    stores,
    authenticator: new ApiKeyAuthenticator(stores.apiKeys, stores.tenants, config.AUTH_CACHE_TTL_MS),
    resolver,
    pins: stores.pins,
    audit: stores.audit,
    // Other instances see a change within CATALOG_CACHE_TTL_MS; this one drops its cache at once.
    catalogAdmin: new CatalogAdmin(stores.catalog, stores.audit, now, () => resolver.invalidate()),
    models:
      overrides.models ??
      new SageMakerModelClient({ region: config.AWS_REGION, endpoint: config.SAGEMAKER_ENDPOINT }),
    usage: stores.usage,
    idempotency: stores.idempotency,
    plans: stores.plans,
    quotas: stores.quotas,
    ids: newId,
    now,
  };
}
