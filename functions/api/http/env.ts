import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AccountDeps } from '#shared/accounts/account-deps';
import type { Member } from '#shared/accounts/user-store';
import type { ApiKeyStore } from '#shared/auth/api-key-store';
import type { ApiKeyAuthenticator, Principal } from '#shared/auth/authenticator';
import type { KeyUsageTracker } from '#shared/auth/key-usage';
import type { FixedWindowLimiter } from '#shared/auth/rate-limiter';
import type { BatchDeps } from '#shared/batch/batch-deps';
import type { BillingDeps } from '#shared/billing/billing-deps';
import type { CatalogAdmin } from '#shared/catalog/catalog-admin';
import type { PinStore } from '#shared/catalog/pin-store';
import type { ModelResolver } from '#shared/catalog/resolver';
import type { Config } from '#shared/config';
import type { CreditNotices } from '#shared/credits/credit-notices';
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
import type { RefusalCounter } from '#shared/observability/refusal-counts';
import type { RefusalStore } from '#shared/observability/refusal-store';
import type { TypicalLatencyReader } from '#shared/observability/typical-latency';
import type { ProjectLimitsCache } from '#shared/projects/project-limits';
import type { QuotaAdmission } from '#shared/quotas/admission';
import type { AlertStore, UsageAlerts } from '#shared/quotas/alerts';
import type { KeyBudgetAlerts } from '#shared/quotas/key-budgets';
import type { PlanStore } from '#shared/quotas/plan-store';
import type { EffectiveLimits } from '#shared/quotas/plans';
import type { ProjectBudgetAlerts } from '#shared/quotas/project-budgets';
import type { Peek, QuotaStore } from '#shared/quotas/quota-store';
import type { Tenant } from '#shared/tenants/tenant-store';

/**
 * What every plane's function wires: what the common middleware (request context, metrics, CORS,
 * security headers, the body limit) and the error handler read. The docs plane gets only this.
 */
export interface CoreDeps {
  config: Config;
  log: Logger;
  ids: typeof newId;
  now: () => Date;
  /** The caller's IP as the runtime knows it (API Gateway's sourceIp, the socket locally); never a header. */
  clientIp: (c: Context) => string | null;
  /** The handlers' metrics (docs/observability.md): EMF lines in Lambda, the logger locally. */
  metrics: MetricsSink;
}

/**
 * The data plane's (`/v1`): API keys, the catalog, the model client, quotas, metering and
 * idempotency. No sessions, no Stripe: `/v1` is API keys only.
 */
export interface DataPlaneDeps extends CoreDeps {
  authenticator: ApiKeyAuthenticator;
  /** The names of keys in `GET /v1/usage` reports. */
  apiKeys: ApiKeyStore;
  /** Counts invalid API keys per IP (the same windows as the login limits, in the main table). */
  limiter: FixedWindowLimiter;
  resolver: ModelResolver;
  /** Tenants' model pins (cached for AUTH_CACHE_TTL_MS on the hot path). */
  pins: PinStore;
  models: ModelClient;
  usage: UsageStore;
  idempotency: IdempotencyStore;
  plans: PlanStore;
  quotas: QuotaStore;
  /** Admits /v1 requests from this instance's quota leases, or by a reservation each. */
  admission: QuotaAdmission;
  /** How fresh the usage aggregates are (the stream consumer's checkpoints, cached ~1 s per instance). */
  usageFreshness: UsageFreshness;
  /** 50/80/100% alerts: recorded once, emailed to the tenant's contact. */
  alerts: UsageAlerts;
  /** Per-key budget alerts (here: a hard stop's 100% when it refuses; the rest in the consumer). */
  keyBudgets: KeyBudgetAlerts;
  /** Keys' projects and their limits, cached per instance for AUTH_CACHE_TTL_MS (one GetItem each). */
  projectLimits: ProjectLimitsCache;
  /** Per-project budget alerts (here: a hard stop's 100% when it refuses; the rest in the consumer). */
  projectBudgets: ProjectBudgetAlerts;
  /** A free-only tenant's credit used up: marked once, emailed once. */
  creditNotices: CreditNotices;
  /** Notes API key use for "last used", off the request's critical path. */
  keyUsage: KeyUsageTracker;
  /** Per-model-version answers, refusals, failures and latency, in memory, flushed in the background. */
  modelHealth: ModelHealthRecorder;
  /** Refused and failed calls of known keys per minute x key x reason, in memory, written in the background. */
  refusals: RefusalCounter;
  /** The model cards' typical latency, read from model health (cached per instance). */
  typicalLatency: TypicalLatencyReader;
}

/** What a plane behind console sessions (`sessionAuth`) wires: the console's and the billing plane. */
export interface SessionPlaneDeps extends CoreDeps {
  /** Signup, sessions, keys, teams, operators. */
  accounts: AccountDeps;
}

/** The console plane's (`/auth`, `/account` but billing, `/admin`): accounts, the catalog's admin, reports. */
export interface ConsolePlaneDeps extends SessionPlaneDeps {
  authenticator: ApiKeyAuthenticator;
  apiKeys: ApiKeyStore;
  resolver: ModelResolver;
  pins: PinStore;
  /** Operator changes to the catalog, each audited in the same transaction. */
  catalogAdmin: CatalogAdmin;
  usage: UsageStore;
  plans: PlanStore;
  quotas: QuotaStore;
  /** Usage across tenants (operators), kept by the usage consumer from the usage stream. */
  platformUsage: PlatformUsageStore;
  usageFreshness: UsageFreshness;
  alertStore: AlertStore;
  /**
   * The hot path's cache of projects' limits: a route that changes a project's limits forgets it
   * here, so the change bites at once where it was made (elsewhere within AUTH_CACHE_TTL_MS).
   */
  projectLimits: ProjectLimitsCache;
  /** What the model-health flushes wrote, for operators. */
  modelHealthStore: ModelHealthStore;
  /** The request log's refusal counts, as the refusal counters wrote them. */
  refusalStore: RefusalStore;
  /** The model cards' typical latency, read from model health (cached per instance). */
  typicalLatency: TypicalLatencyReader;
}

/** The billing plane's (`/account/billing`, Stripe's webhook): sessions and billing. */
export interface BillingPlaneDeps extends SessionPlaneDeps {
  /** Stripe (or the ledger alone): customers, Checkout, webhooks, the meter sync. */
  billing: BillingDeps;
}

/** The docs plane's (`/openapi.json`, `/docs`): the common middleware's alone. */
export type DocsPlaneDeps = CoreDeps;

/**
 * Every plane's dependencies in one process: the local server and the tests, which serve all
 * planes from one app (functions/api/app.ts). Each plane's Lambda entry wires only its own.
 */
export interface ApiDeps extends DataPlaneDeps, ConsolePlaneDeps, BillingPlaneDeps, BatchPlaneDeps {}

/**
 * The batch plane's (`/v1/files`, `/v1/batches` and the consoles' batch pages): API keys and
 * sessions, the catalog to check lines' models, and the batch records, files and queue. It invokes
 * no model: the batch worker (functions/jobs/batch-worker.ts) does, with the data plane's deps.
 */
export interface BatchPlaneDeps extends DataPlaneDeps, SessionPlaneDeps {
  batch: BatchDeps;
}

/** Who a console session belongs to, as `sessionAuth` established it for this request. */
export type SessionContext = { sessionId: string; via: 'cookie' | 'bearer' } & (
  | { kind: 'user'; userId: string; tenantId: string; member: Member; tenant: Tenant }
  | { kind: 'operator'; operatorId: string; email: string }
);

/**
 * The typed environment of routes and middleware, by the dependencies their plane wires: a route
 * typed by one plane's env does not typecheck when mounted on a plane that lacks what it reads
 * (`OpenAPIHono` is invariant in its env). Without a parameter, every plane's (the local app).
 */
export interface AppEnv<D extends CoreDeps = ApiDeps> {
  Variables: {
    deps: D;
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
    /** `batch` when the request is a batch line run by the batch worker (absent online). */
    channel: 'batch';
    /** Set by a stream that failed after its 200 went out: the error its `event: error` carried. */
    streamFailure: ApiError;
  };
}

/** What a middleware or helper that reads the session alone runs with, on whichever plane. */
export type SessionVarsEnv = { Variables: Pick<AppEnv['Variables'], 'session'> };

/** The data plane's routes and middleware. */
export type DataEnv = AppEnv<DataPlaneDeps>;
/** The batch plane's routes' env. */
export type BatchEnv = AppEnv<BatchPlaneDeps>;
/** The console plane's routes and middleware. */
export type ConsoleEnv = AppEnv<ConsolePlaneDeps>;
/** The billing plane's routes and middleware. */
export type BillingEnv = AppEnv<BillingPlaneDeps>;
/** What a route or middleware of either session plane (console, billing) runs with. */
export type SessionEnv = AppEnv<SessionPlaneDeps>;
/** The docs plane's routes, and the middleware common to every plane. */
export type CoreEnv = AppEnv<CoreDeps>;

/** Mounts a plane's routes on an app, typed by the plane's dependencies. */
export type PlaneRoutes<D extends CoreDeps> = <A extends D>(app: OpenAPIHono<AppEnv<A>>) => void;

/**
 * A plane's routes, mountable on any app whose dependencies include the plane's (its own Lambda
 * entry's, or the local app with every plane's), and on no other: `registerConsolePlane` on an app
 * of the data plane's deps does not typecheck. The view is sound because routes only read `deps`,
 * and `A` has every member of `D`.
 */
export function planeRoutes<D extends CoreDeps>(
  register: (app: OpenAPIHono<AppEnv<D>>) => void,
): PlaneRoutes<D> {
  return (app) => register(app as unknown as OpenAPIHono<AppEnv<D>>);
}
