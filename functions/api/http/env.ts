import type { Context } from 'hono';
import type { AccountDeps } from '#shared/accounts/account-deps';
import type { Member } from '#shared/accounts/user-store';
import type { ApiKeyAuthenticator, Principal } from '#shared/auth/authenticator';
import type { KeyUsageTracker } from '#shared/auth/key-usage';
import type { BillingDeps } from '#shared/billing/billing-deps';
import type { CatalogAdmin } from '#shared/catalog/catalog-admin';
import type { PinStore } from '#shared/catalog/pin-store';
import type { ModelResolver } from '#shared/catalog/resolver';
import type { Config } from '#shared/config';
import type { ApiError } from '#shared/errors';
import type { IdempotencyStore } from '#shared/idempotency/idempotency-store';
import type { newId } from '#shared/ids';
import type { Logger } from '#shared/logger';
import type { PlatformUsageStore } from '#shared/metering/platform-usage';
import type { UsageFreshness } from '#shared/metering/usage-freshness';
import type { UsageStore } from '#shared/metering/usage-store';
import type { ModelClient } from '#shared/models/model-client';
import type { MetricsSink } from '#shared/observability/metrics-sink';
import type { ModelHealthRecorder } from '#shared/observability/model-health';
import type { ModelHealthStore } from '#shared/observability/model-health-store';
import type { QuotaAdmission } from '#shared/quotas/admission';
import type { AlertStore, UsageAlerts } from '#shared/quotas/alerts';
import type { PlanStore } from '#shared/quotas/plan-store';
import type { EffectiveLimits } from '#shared/quotas/plans';
import type { Peek, QuotaStore } from '#shared/quotas/quota-store';
import type { Tenant } from '#shared/tenants/tenant-store';

/** Everything the API needs from the outside world; the local server and Lambda wire different adapters. */
export interface ApiDeps {
  config: Config;
  log: Logger;
  authenticator: ApiKeyAuthenticator;
  resolver: ModelResolver;
  /** Tenants' model pins (cached for AUTH_CACHE_TTL_MS on the hot path). */
  pins: PinStore;
  /** Operator changes to the catalog, each audited in the same transaction. */
  catalogAdmin: CatalogAdmin;
  models: ModelClient;
  usage: UsageStore;
  idempotency: IdempotencyStore;
  plans: PlanStore;
  quotas: QuotaStore;
  /** Admits /v1 requests from this instance's quota leases, or by a reservation each. */
  admission: QuotaAdmission;
  /** Usage across tenants (operators), kept by the usage consumer from the usage stream. */
  platformUsage: PlatformUsageStore;
  /** How fresh the usage aggregates are (the stream consumer's checkpoints, cached ~1 s per instance). */
  usageFreshness: UsageFreshness;
  /** 50/80/100% alerts: recorded once, emailed to the tenant's contact. */
  alerts: UsageAlerts;
  alertStore: AlertStore;
  ids: typeof newId;
  now: () => Date;
  /** Signup, sessions, keys, teams, operators. */
  accounts: AccountDeps;
  /** Stripe (or the ledger alone): customers, Checkout, webhooks, the meter sync. */
  billing: BillingDeps;
  /** Notes API key use for "last used", off the request's critical path. */
  keyUsage: KeyUsageTracker;
  /** The handlers' metrics (docs/observability.md): EMF lines in Lambda, the logger locally. */
  metrics: MetricsSink;
  /** Per-model-version answers, refusals, failures and latency, in memory, flushed in the background. */
  modelHealth: ModelHealthRecorder;
  /** What the flushes wrote, for operators. */
  modelHealthStore: ModelHealthStore;
  /** The caller's IP as the runtime knows it (API Gateway's sourceIp, the socket locally); never a header. */
  clientIp: (c: Context<AppEnv>) => string | null;
}

/** Who a console session belongs to, as `sessionAuth` established it for this request. */
export type SessionContext = { sessionId: string; via: 'cookie' | 'bearer' } & (
  | { kind: 'user'; userId: string; tenantId: string; member: Member; tenant: Tenant }
  | { kind: 'operator'; operatorId: string; email: string }
);

/** The one typed environment of every route and middleware. */
export interface AppEnv {
  Variables: {
    deps: ApiDeps;
    requestId: string;
    log: Logger;
    /** Set by `apiKeyAuth`; routes behind it may rely on it. */
    principal: Principal;
    /** Set by a reservation: the rate-limit headers, read while the model runs. */
    rateLimit: Promise<Record<string, string> | undefined>;
    /** Set by a reservation: the limits it was held to and the counters read while the model runs. */
    quota: { limits: EffectiveLimits; peek: Promise<Peek | undefined> };
    /** Set by `sessionAuth`; routes behind it may rely on it. */
    session: SessionContext;
    /** `name@version` once a /v1 route has resolved its model (the `ModelVersion` of its metrics). */
    modelVersion: string;
    /** Set by a stream that failed after its 200 went out: the error its `event: error` carried. */
    streamFailure: ApiError;
  };
}
