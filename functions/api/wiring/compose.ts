import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'hono';
import type { AccountDeps } from '#shared/accounts/account-deps';
import { ApiKeyAuthenticator } from '#shared/auth/authenticator';
import { KeyUsageTracker } from '#shared/auth/key-usage';
import { FixedWindowLimiter } from '#shared/auth/rate-limiter';
import type { AccessTokens } from '#shared/auth/sessions/jwt';
import type { SigningKeyProvider } from '#shared/auth/sessions/signing-keys';
import type { BatchDeps } from '#shared/batch/batch-deps';
import type { BillingGateway } from '#shared/billing/billing';
import type { BillingDeps } from '#shared/billing/billing-deps';
import { CatalogAdmin } from '#shared/catalog/catalog-admin';
import { ModelResolver } from '#shared/catalog/resolver';
import type { Config } from '#shared/config';
import { CreditNotices } from '#shared/credits/credit-notices';
import { tableNames } from '#shared/db/tables';
import type { EmailSender } from '#shared/email/email-sender';
import { FinanceStore } from '#shared/finance/finance-store';
import { newId } from '#shared/ids';
import type { Logger } from '#shared/logger';
import { UsageFreshness } from '#shared/metering/usage-freshness';
import type { ModelClient } from '#shared/models/model-client';
import { metricServices } from '#shared/observability/metrics';
import { logMetrics, type MetricsSink } from '#shared/observability/metrics-sink';
import { ModelHealthRecorder } from '#shared/observability/model-health';
import { RefusalCounter } from '#shared/observability/refusal-counts';
import { TypicalLatencyReader } from '#shared/observability/typical-latency';
import { ProjectLimitsCache } from '#shared/projects/project-limits';
import { QuotaAdmission } from '#shared/quotas/admission';
import { UsageAlerts } from '#shared/quotas/alerts';
import { KeyBudgetAlerts } from '#shared/quotas/key-budgets';
import { trialOf } from '#shared/quotas/plans';
import { ProjectBudgetAlerts } from '#shared/quotas/project-budgets';
import type { ConsolePlaneDeps, CoreDeps, DataPlaneDeps, SessionPlaneDeps } from '../http/env';
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
  clientIp?: (c: Context) => string | null;
  /** Default: Stripe from STRIPE_SECRET_KEY, else ledger-only. */
  billingGateway?: BillingGateway;
  /** Default: metric records as debug log lines; the Lambda entry writes EMF to stdout. */
  metrics?: MetricsSink;
  /** Default: S3 (S3_ENDPOINT locally) and SQS (BATCH_QUEUE_URL) or the main table's queue. */
  batch?: Partial<Pick<BatchDeps, 'storage' | 'queue'>>;
}

/**
 * What needs only DynamoDB and is shared by every plane a process serves. One instance each, so
 * that in the local app (every plane in one process) a catalog change drops the resolver's cache
 * that /v1 reads, and a suspension evicts from the authenticator /v1 checks keys with.
 */
export interface Base {
  core: CoreDeps;
  stores: Stores;
  resolver: ModelResolver;
  authenticator: ApiKeyAuthenticator;
  /**
   * Keys' projects and their limits as the hot path reads them (cached like the tenant's record):
   * shared by the planes of one process, so a change of a project's limits drops it at once.
   */
  projectLimits: ProjectLimitsCache;
  limiter: FixedWindowLimiter;
  usageFreshness: UsageFreshness;
  /** One per process, so the local app's planes share its cached read. */
  typicalLatency: TypicalLatencyReader;
}

/**
 * Builds the core every plane gets and the DynamoDB-only parts the planes share; the plane
 * builders below add what each plane's routes read, from the edge adapters the caller wired
 * (each brings a whole SDK: SageMaker Runtime, SES, Stripe, jose), so a plane's Lambda entry
 * imports only the SDKs its routes use (functions/api/wiring/*-deps.ts).
 */
export function composeBase(
  config: Config,
  log: Logger,
  overrides: Pick<DepsOverrides, 'stores' | 'now' | 'clientIp' | 'metrics'> = {},
): Base {
  const stores = overrides.stores ?? createStores(config);
  const core = composeCore(config, log, overrides);
  const { now } = core;
  return {
    core,
    stores,
    resolver: new ModelResolver(stores.catalog, config.CATALOG_CACHE_TTL_MS),
    authenticator: new ApiKeyAuthenticator(stores.apiKeys, stores.tenants, config.AUTH_CACHE_TTL_MS, () =>
      now().getTime(),
    ),
    projectLimits: new ProjectLimitsCache(stores.projects, config.AUTH_CACHE_TTL_MS, () => now().getTime()),
    limiter: new FixedWindowLimiter(stores.dynamo.doc, tableNames(config.STAGE).main, now),
    usageFreshness: new UsageFreshness(stores.usageConsumer, { now, log }),
    typicalLatency: new TypicalLatencyReader(stores.modelHealth, {
      now,
      onError: (err) => log.warn({ err }, 'model cards: typical latency not read'),
    }),
  };
}

/** What every plane gets, the docs plane's alone: no store, no SDK. */
export function composeCore(
  config: Config,
  log: Logger,
  overrides: Pick<DepsOverrides, 'now' | 'clientIp' | 'metrics'> = {},
): CoreDeps {
  return {
    config,
    log,
    ids: newId,
    now: overrides.now ?? (() => new Date()),
    clientIp: overrides.clientIp ?? (() => null),
    metrics: overrides.metrics ?? logMetrics({ service: metricServices.api, Stage: config.STAGE }, log),
  };
}

/** The data plane's parts: the model client, quotas, metering; `email` sends the usage alerts. */
export function dataParts(
  b: Base,
  edges: { models: ModelClient; email: EmailSender },
): Omit<DataPlaneDeps, keyof CoreDeps> {
  const { config, log, now } = b.core;
  const { stores } = b;
  return {
    authenticator: b.authenticator,
    apiKeys: stores.apiKeys,
    limiter: b.limiter,
    resolver: b.resolver,
    pins: stores.pins,
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
    usageFreshness: b.usageFreshness,
    alerts: new UsageAlerts(stores.alerts, edges.email, { publicUrl: config.PUBLIC_URL, now }),
    keyBudgets: keyBudgetAlerts(b, edges.email),
    projectLimits: b.projectLimits,
    projectBudgets: projectBudgetAlerts(b, edges.email),
    creditNotices: new CreditNotices(stores.quotas.credits, edges.email, { publicUrl: config.PUBLIC_URL }),
    keyUsage: new KeyUsageTracker(stores.apiKeys, {
      now,
      onError: (err) => log.warn({ err }, 'could not record when an API key was last used'),
    }),
    modelHealth: new ModelHealthRecorder(stores.modelHealth, {
      flushMs: config.HEALTH_FLUSH_MS,
      now,
      onError: (err) => log.warn({ err }, 'model health counts not written; kept for the next flush'),
    }),
    refusals: new RefusalCounter(stores.refusals, {
      flushMs: config.HEALTH_FLUSH_MS,
      now,
      onError: (err) => log.warn({ err }, 'refusal counts not written; kept for the next flush'),
    }),
    typicalLatency: b.typicalLatency,
  };
}

/**
 * Per-key budget alerts: raised by the usage consumer after each batch (in AWS its own function
 * wires them, functions/jobs/usage-consumer-lambda.ts) and by a hard stop's refusal on /v1.
 */
export function keyBudgetAlerts(b: Base, email: EmailSender): KeyBudgetAlerts {
  const { config, log, now } = b.core;
  const { stores } = b;
  return new KeyBudgetAlerts(
    stores.dynamo.doc,
    tableNames(config.STAGE).usage,
    stores.alerts,
    { apiKeys: stores.apiKeys, users: stores.users, tenants: stores.tenants },
    email,
    { publicUrl: config.PUBLIC_URL, now, log, keyCacheMs: config.AUTH_CACHE_TTL_MS },
  );
}

/**
 * Per-project budget alerts: raised by the usage consumer after each batch (in AWS its own
 * function wires them) and by a hard stop's refusal on /v1.
 */
export function projectBudgetAlerts(b: Base, email: EmailSender): ProjectBudgetAlerts {
  const { config, log, now } = b.core;
  const { stores } = b;
  return new ProjectBudgetAlerts(
    stores.dynamo.doc,
    tableNames(config.STAGE).usage,
    stores.alerts,
    { projects: stores.projects, users: stores.users, tenants: stores.tenants },
    email,
    { publicUrl: config.PUBLIC_URL, now, log, projectCacheMs: config.AUTH_CACHE_TTL_MS },
  );
}

/** The account services behind console sessions (the console and billing planes). */
export function accountDeps(
  b: Base,
  edges: { email: EmailSender; accessTokens: (now: () => Date) => AccessTokens },
): AccountDeps {
  const { config, now } = b.core;
  const { stores } = b;
  return {
    config,
    tenants: stores.tenants,
    users: stores.users,
    operators: stores.operators,
    tokens: stores.tokens,
    invitations: stores.invitations,
    sessions: stores.sessions,
    audit: stores.audit,
    apiKeys: stores.apiKeys,
    projects: stores.projects,
    authenticator: b.authenticator,
    accessTokens: edges.accessTokens(now),
    limiter: b.limiter,
    email: edges.email,
    trials: {
      items: async (tenantId, planId, now) => {
        const trial = trialOf(await stores.plans.get(planId));
        if (!trial) return null;
        return stores.quotas.credits.trialItems(tenantId, { ...trial, plan: planId }, now);
      },
    },
    transact: async (items) => {
      await stores.dynamo.doc.send(new TransactWriteCommand({ TransactItems: items }));
    },
    now,
  };
}

/** The console plane's parts beside `accounts`: the catalog's admin, limits and reports. */
export function consoleParts(b: Base): Omit<ConsolePlaneDeps, keyof SessionPlaneDeps> {
  const { stores, resolver } = b;
  return {
    authenticator: b.authenticator,
    apiKeys: stores.apiKeys,
    resolver,
    pins: stores.pins,
    // Other instances see a change within CATALOG_CACHE_TTL_MS; this one drops its cache at once.
    catalogAdmin: new CatalogAdmin(stores.catalog, stores.audit, b.core.now, () => resolver.invalidate()),
    usage: stores.usage,
    plans: stores.plans,
    quotas: stores.quotas,
    platformUsage: stores.platformUsage,
    usageFreshness: b.usageFreshness,
    alertStore: stores.alerts,
    projectLimits: b.projectLimits,
    modelHealthStore: stores.modelHealth,
    refusalStore: stores.refusals,
    typicalLatency: b.typicalLatency,
  };
}

/** The billing plane's `billing`: Stripe (or the ledger alone) and the account pieces it moves. */
export function billingParts(b: Base, accounts: AccountDeps, gateway: BillingGateway): BillingDeps {
  const { config, log, now } = b.core;
  const { stores, resolver, authenticator } = b;
  return {
    config,
    gateway,
    store: stores.billing,
    tenants: stores.tenants,
    plans: stores.plans,
    usage: stores.usage,
    platformUsage: stores.platformUsage,
    finance: new FinanceStore(stores.dynamo.doc, tableNames(config.STAGE).main, stores.audit),
    credits: stores.quotas.credits,
    catalog: () => resolver.catalog(),
    audit: stores.audit,
    email: accounts.email,
    forgetTenant: (tenantId) => authenticator.forgetTenant(tenantId),
    log,
    now,
  };
}
