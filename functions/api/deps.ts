import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'hono';
import type { AccountDeps } from '../../shared/accounts/account-deps';
import { AuditLog } from '../../shared/accounts/audit-log';
import { InvitationStore } from '../../shared/accounts/invitation-store';
import { OneTimeTokenStore } from '../../shared/accounts/one-time-tokens';
import { OperatorStore } from '../../shared/accounts/operator-store';
import { UserStore } from '../../shared/accounts/user-store';
import { ApiKeyStore } from '../../shared/auth/api-key-store';
import { ApiKeyAuthenticator } from '../../shared/auth/authenticator';
import { KeyUsageTracker } from '../../shared/auth/key-usage';
import { FixedWindowLimiter } from '../../shared/auth/rate-limiter';
import { AccessTokens, sessionIssuer } from '../../shared/auth/sessions/jwt';
import { SessionStore } from '../../shared/auth/sessions/session-store';
import {
  JwksSigningKeys,
  MissingSigningKeys,
  type SigningKeyProvider,
} from '../../shared/auth/sessions/signing-keys';
import type { BillingGateway } from '../../shared/billing/billing';
import type { BillingDeps } from '../../shared/billing/billing-deps';
import { BillingStore } from '../../shared/billing/billing-store';
import { LedgerBillingGateway } from '../../shared/billing/ledger-billing';
import { StripeBillingGateway } from '../../shared/billing/stripe-billing';
import { CatalogAdmin } from '../../shared/catalog/catalog-admin';
import { CatalogStore } from '../../shared/catalog/catalog-store';
import { PinStore } from '../../shared/catalog/pin-store';
import { ModelResolver } from '../../shared/catalog/resolver';
import type { Config } from '../../shared/config';
import { createDynamo, type Dynamo } from '../../shared/db/client';
import { tableNames } from '../../shared/db/tables';
import type { EmailSender } from '../../shared/email/email-sender';
import { SesEmailSender } from '../../shared/email/ses-sender';
import { IdempotencyStore } from '../../shared/idempotency/idempotency-store';
import { newId } from '../../shared/ids';
import type { Logger } from '../../shared/logger';
import { PlatformUsageStore } from '../../shared/metering/platform-usage';
import { UsageStore } from '../../shared/metering/usage-store';
import type { ModelClient } from '../../shared/models/model-client';
import { SageMakerModelClient } from '../../shared/models/sagemaker-client';
import { metricServices } from '../../shared/observability/metrics';
import { logMetrics, type MetricsSink } from '../../shared/observability/metrics-sink';
import { ModelHealthRecorder } from '../../shared/observability/model-health';
import { ModelHealthStore } from '../../shared/observability/model-health-store';
import { QuotaAdmission } from '../../shared/quotas/admission';
import { AlertStore, UsageAlerts } from '../../shared/quotas/alerts';
import { PlanStore } from '../../shared/quotas/plan-store';
import { QuotaStore } from '../../shared/quotas/quota-store';
import { TenantStore } from '../../shared/tenants/tenant-store';
import type { ApiDeps, AppEnv } from './env';

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
  modelHealth: ModelHealthStore;
  alerts: AlertStore;
  users: UserStore;
  operators: OperatorStore;
  tokens: OneTimeTokenStore;
  invitations: InvitationStore;
  sessions: SessionStore;
  audit: AuditLog;
  billing: BillingStore;
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
    quotas: new QuotaStore(dynamo.doc, names.main, names.usage),
    platformUsage: new PlatformUsageStore(dynamo.doc, names.usage),
    modelHealth: new ModelHealthStore(dynamo.doc, names.usage),
    alerts: new AlertStore(dynamo.doc, names.main),
    users: new UserStore(dynamo.doc, names.main),
    operators: new OperatorStore(dynamo.doc, names.main),
    tokens: new OneTimeTokenStore(dynamo.doc, names.main),
    invitations: new InvitationStore(dynamo.doc, names.main),
    sessions: new SessionStore(dynamo.doc, names.main),
    audit: new AuditLog(dynamo.doc, names.main),
    billing: new BillingStore(dynamo.doc, names.main),
  };
}

/** Stripe when a secret key is configured; otherwise billing stays in the ledger. */
export function createBillingGateway(config: Config): BillingGateway {
  if (!config.STRIPE_SECRET_KEY) return new LedgerBillingGateway();
  return new StripeBillingGateway({
    secretKey: config.STRIPE_SECRET_KEY,
    webhookSecret: config.STRIPE_WEBHOOK_SECRET,
    apiBase: config.STRIPE_API_BASE,
    timeoutMs: config.STRIPE_TIMEOUT_MS,
    maxNetworkRetries: config.STRIPE_MAX_NETWORK_RETRIES,
    webhookToleranceSeconds: config.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
  });
}

/** Adapters at the machine's edge that the local runner and tests swap out. */
export interface DepsOverrides {
  stores?: Stores;
  models?: ModelClient;
  now?: () => Date;
  /** Default: SES from EMAIL_FROM. */
  email?: EmailSender;
  /** Default: the JWK set in JWT_PRIVATE_JWKS. */
  signingKeys?: SigningKeyProvider;
  /** Default: none known (every caller shares one per-IP login budget); entries pass their runtime's. */
  clientIp?: (c: Context<AppEnv>) => string | null;
  /** Default: Stripe from STRIPE_SECRET_KEY, else ledger-only. */
  billingGateway?: BillingGateway;
  /** Default: metric records as debug log lines; the Lambda entry writes EMF to stdout. */
  metrics?: MetricsSink;
}

/**
 * Wires the API's dependencies from config: the composition root shared by the Lambda entry and
 * the local server. Endpoint overrides in config are the only difference between the two.
 */
export function createApiDeps(
  config: Config,
  log: Logger,
  overrides: DepsOverrides = {},
): ApiDeps & { stores: Stores } {
  const stores = overrides.stores ?? createStores(config);
  const now = overrides.now ?? (() => new Date());
  const resolver = new ModelResolver(stores.catalog, config.CATALOG_CACHE_TTL_MS);
  const authenticator = new ApiKeyAuthenticator(
    stores.apiKeys,
    stores.tenants,
    config.AUTH_CACHE_TTL_MS,
    () => now().getTime(),
  );
  const signingKeys =
    overrides.signingKeys ??
    (config.JWT_PRIVATE_JWKS ? JwksSigningKeys.fromJson(config.JWT_PRIVATE_JWKS) : new MissingSigningKeys());
  const mainTable = tableNames(config.STAGE).main;
  const accounts: AccountDeps = {
    config,
    tenants: stores.tenants,
    users: stores.users,
    operators: stores.operators,
    tokens: stores.tokens,
    invitations: stores.invitations,
    sessions: stores.sessions,
    audit: stores.audit,
    apiKeys: stores.apiKeys,
    authenticator,
    accessTokens: new AccessTokens(signingKeys, {
      issuer: sessionIssuer(config.STAGE),
      ttlSeconds: config.SESSION_TTL_SECONDS,
      now,
    }),
    limiter: new FixedWindowLimiter(stores.dynamo.doc, mainTable, now),
    email: overrides.email ?? new SesEmailSender({ region: config.AWS_REGION, from: config.EMAIL_FROM }),
    transact: async (items) => {
      await stores.dynamo.doc.send(new TransactWriteCommand({ TransactItems: items }));
    },
    now,
  };
  const billing: BillingDeps = {
    config,
    gateway: overrides.billingGateway ?? createBillingGateway(config),
    store: stores.billing,
    tenants: stores.tenants,
    plans: stores.plans,
    usage: stores.usage,
    catalog: () => resolver.catalog(),
    audit: stores.audit,
    email: accounts.email,
    forgetTenant: (tenantId) => authenticator.forgetTenant(tenantId),
    log,
    now,
  };
  return {
    config,
    log,
    stores,
    authenticator,
    resolver,
    pins: stores.pins,
    // Other instances see a change within CATALOG_CACHE_TTL_MS; this one drops its cache at once.
    catalogAdmin: new CatalogAdmin(stores.catalog, stores.audit, now, () => resolver.invalidate()),
    models:
      overrides.models ??
      new SageMakerModelClient({ region: config.AWS_REGION, endpoint: config.SAGEMAKER_ENDPOINT }),
    usage: stores.usage,
    idempotency: stores.idempotency,
    plans: stores.plans,
    quotas: stores.quotas,
    admission: new QuotaAdmission(stores.quotas, {
      leaseMs: config.QUOTA_LEASE_MS,
      idleMs: config.QUOTA_LEASE_IDLE_MS,
      now,
      onError: (err, what) => log.warn({ err }, what),
    }),
    platformUsage: stores.platformUsage,
    alerts: new UsageAlerts(stores.alerts, accounts.email, { publicUrl: config.PUBLIC_URL, now }),
    alertStore: stores.alerts,
    ids: newId,
    now,
    accounts,
    billing,
    keyUsage: new KeyUsageTracker(stores.apiKeys, {
      now,
      onError: (err) => log.warn({ err }, 'could not record when an API key was last used'),
    }),
    modelHealth: new ModelHealthRecorder(stores.modelHealth, {
      flushMs: config.HEALTH_FLUSH_MS,
      now,
      onError: (err) => log.warn({ err }, 'model health counts not written; kept for the next flush'),
    }),
    modelHealthStore: stores.modelHealth,
    clientIp: overrides.clientIp ?? (() => null),
    metrics: overrides.metrics ?? logMetrics({ service: metricServices.api, Stage: config.STAGE }, log),
  };
}
