import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'hono';
import type { AccountDeps } from '#shared/accounts/account-deps';
import { ApiKeyAuthenticator } from '#shared/auth/authenticator';
import { KeyUsageTracker } from '#shared/auth/key-usage';
import { FixedWindowLimiter } from '#shared/auth/rate-limiter';
import type { AccessTokens } from '#shared/auth/sessions/jwt';
import type { SigningKeyProvider } from '#shared/auth/sessions/signing-keys';
import type { BillingGateway } from '#shared/billing/billing';
import type { BillingDeps } from '#shared/billing/billing-deps';
import { CatalogAdmin } from '#shared/catalog/catalog-admin';
import { ModelResolver } from '#shared/catalog/resolver';
import type { Config } from '#shared/config';
import { tableNames } from '#shared/db/tables';
import type { EmailSender } from '#shared/email/email-sender';
import { newId } from '#shared/ids';
import type { Logger } from '#shared/logger';
import { UsageFreshness } from '#shared/metering/usage-freshness';
import type { ModelClient } from '#shared/models/model-client';
import { metricServices } from '#shared/observability/metrics';
import { logMetrics, type MetricsSink } from '#shared/observability/metrics-sink';
import { ModelHealthRecorder } from '#shared/observability/model-health';
import { QuotaAdmission } from '#shared/quotas/admission';
import { UsageAlerts } from '#shared/quotas/alerts';
import type { ApiDeps, AppEnv } from '../http/env';
import { createStores, type Stores } from './stores';

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
 * The adapters that each bring a whole SDK (SageMaker Runtime, SES, Stripe, jose). The caller
 * builds them, so a plane's entry imports only the SDKs its routes use (functions/api/planes/*-deps.ts)
 * and hands `unwired(...)` for the rest.
 */
export interface EdgeAdapters {
  models: ModelClient;
  email: EmailSender;
  billingGateway: BillingGateway;
  accessTokens: (now: () => Date) => AccessTokens;
}

/**
 * Wires the API's dependencies from config and the edge adapters: the composition shared by every
 * plane's Lambda entry, the local server and the tests (through createApiDeps). No SDK beyond
 * DynamoDB is imported here.
 */
export function composeApiDeps(
  config: Config,
  log: Logger,
  edges: EdgeAdapters,
  overrides: Pick<DepsOverrides, 'stores' | 'now' | 'clientIp' | 'metrics'> = {},
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
    accessTokens: edges.accessTokens(now),
    limiter: new FixedWindowLimiter(stores.dynamo.doc, mainTable, now),
    email: edges.email,
    transact: async (items) => {
      await stores.dynamo.doc.send(new TransactWriteCommand({ TransactItems: items }));
    },
    now,
  };
  const billing: BillingDeps = {
    config,
    gateway: edges.billingGateway,
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
    models: edges.models,
    usage: stores.usage,
    idempotency: stores.idempotency,
    plans: stores.plans,
    quotas: stores.quotas,
    admission: new QuotaAdmission(stores.quotas, {
      leaseMs: config.QUOTA_LEASE_MS,
      slotTtlMs: config.QUOTA_SLOT_TTL_MS,
      idleMs: config.QUOTA_LEASE_IDLE_MS,
      now,
      onError: (err, what) => log.warn({ err }, what),
    }),
    platformUsage: stores.platformUsage,
    usageFreshness: new UsageFreshness(stores.usageConsumer, { now, log }),
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
