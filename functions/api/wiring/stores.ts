import { AuditLog } from '#shared/accounts/audit-log';
import { InvitationStore } from '#shared/accounts/invitation-store';
import { OneTimeTokenStore } from '#shared/accounts/one-time-tokens';
import { OperatorStore } from '#shared/accounts/operator-store';
import { UserStore } from '#shared/accounts/user-store';
import { ApiKeyStore } from '#shared/auth/api-key-store';
import { SessionStore } from '#shared/auth/sessions/session-store';
import { BillingStore } from '#shared/billing/billing-store';
import { CatalogStore } from '#shared/catalog/catalog-store';
import { PinStore } from '#shared/catalog/pin-store';
import type { Config } from '#shared/config';
import { createDynamo, type Dynamo } from '#shared/db/client';
import { tableNames } from '#shared/db/tables';
import { IdempotencyStore } from '#shared/idempotency/idempotency-store';
import { PlatformUsageStore } from '#shared/metering/platform-usage';
import { UsageConsumer } from '#shared/metering/usage-consumer';
import { UsageStore } from '#shared/metering/usage-store';
import { ModelHealthStore } from '#shared/observability/model-health-store';
import { RefusalStore } from '#shared/observability/refusal-store';
import { ProjectStore } from '#shared/projects/project-store';
import { AlertStore } from '#shared/quotas/alerts';
import { PlanStore } from '#shared/quotas/plan-store';
import { QuotaStore } from '#shared/quotas/quota-store';
import { TenantStore } from '#shared/tenants/tenant-store';

/** The stores over one DynamoDB connection. */
export interface Stores {
  dynamo: Dynamo;
  tenants: TenantStore;
  apiKeys: ApiKeyStore;
  catalog: CatalogStore;
  usage: UsageStore;
  pins: PinStore;
  idempotency: IdempotencyStore;
  plans: PlanStore;
  quotas: QuotaStore;
  platformUsage: PlatformUsageStore;
  /** Derives the usage aggregates from the usage table's stream (run by a poller or a Lambda). */
  usageConsumer: UsageConsumer;
  modelHealth: ModelHealthStore;
  /** The request log's refused and failed calls per minute x key x reason. */
  refusals: RefusalStore;
  alerts: AlertStore;
  users: UserStore;
  operators: OperatorStore;
  tokens: OneTimeTokenStore;
  invitations: InvitationStore;
  sessions: SessionStore;
  audit: AuditLog;
  billing: BillingStore;
  /** A tenant's projects and their members (the default project needs no item). */
  projects: ProjectStore;
}

/** `dynamo` replaces the client the stores share (tests wrap a real one with faults). */
export function createStores(config: Config, overrides: { dynamo?: Dynamo } = {}): Stores {
  const dynamo =
    overrides.dynamo ?? createDynamo({ region: config.AWS_REGION, endpoint: config.DYNAMODB_ENDPOINT });
  const names = tableNames(config.STAGE);
  return {
    dynamo,
    tenants: new TenantStore(dynamo.doc, names.main),
    apiKeys: new ApiKeyStore(dynamo.doc, names.main),
    catalog: new CatalogStore(dynamo.doc, names.main),
    usage: new UsageStore(dynamo.doc, names.usage),
    pins: new PinStore(dynamo.doc, names.main, config.AUTH_CACHE_TTL_MS),
    idempotency: new IdempotencyStore(dynamo.doc, names.main),
    plans: new PlanStore(dynamo.doc, names.main, config.CATALOG_CACHE_TTL_MS),
    quotas: new QuotaStore(
      dynamo.doc,
      names.main,
      names.usage,
      config.MODEL_TIMEOUT_MS + config.RESERVATION_GRACE_MS,
    ),
    platformUsage: new PlatformUsageStore(dynamo.doc, names.usage),
    usageConsumer: new UsageConsumer(dynamo.doc, names),
    modelHealth: new ModelHealthStore(dynamo.doc, names.usage),
    refusals: new RefusalStore(dynamo.doc, names.usage),
    alerts: new AlertStore(dynamo.doc, names.main),
    users: new UserStore(dynamo.doc, names.main),
    operators: new OperatorStore(dynamo.doc, names.main),
    tokens: new OneTimeTokenStore(dynamo.doc, names.main),
    invitations: new InvitationStore(dynamo.doc, names.main),
    sessions: new SessionStore(dynamo.doc, names.main),
    audit: new AuditLog(dynamo.doc, names.main),
    billing: new BillingStore(dynamo.doc, names.main),
    projects: new ProjectStore(dynamo.doc, names.main),
  };
}
