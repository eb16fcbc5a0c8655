import type { AuditLog } from '../../shared/audit/audit-log';
import type { ApiKeyAuthenticator, Principal } from '../../shared/auth/authenticator';
import type { CatalogAdmin } from '../../shared/catalog/catalog-admin';
import type { PinStore } from '../../shared/catalog/pin-store';
import type { ModelResolver } from '../../shared/catalog/resolver';
import type { Config } from '../../shared/config';
import type { IdempotencyStore } from '../../shared/idempotency/idempotency-store';
import type { newId } from '../../shared/ids';
import type { Logger } from '../../shared/logger';
import type { UsageStore } from '../../shared/metering/usage-store';
import type { ModelClient } from '../../shared/models/model-client';
import type { PlanStore } from '../../shared/quotas/plan-store';
import type { QuotaStore } from '../../shared/quotas/quota-store';

/** Everything the API needs from the outside world; the local server and Lambda wire different adapters. */
export interface ApiDeps {
  config: Config;
  log: Logger;
  authenticator: ApiKeyAuthenticator;
  resolver: ModelResolver;
  /** Tenants' model pins (cached for AUTH_CACHE_TTL_MS on the hot path). */
  pins: PinStore;
  /** Operator changes to the catalog, each audited. */
  catalogAdmin: CatalogAdmin;
  audit: AuditLog;
  models: ModelClient;
  usage: UsageStore;
  idempotency: IdempotencyStore;
  plans: PlanStore;
  quotas: QuotaStore;
  ids: typeof newId;
  now: () => Date;
}

/** The one typed environment of every route and middleware. */
export interface AppEnv {
  Variables: {
    deps: ApiDeps;
    requestId: string;
    log: Logger;
    /** Set by `apiKeyAuth`; routes behind it may rely on it. */
    principal: Principal;
    /** Set by the operator (admin) auth middleware: who an audited change is attributed to. */
    operator: { userId: string };
    /** Set by a reservation: the rate-limit headers, read while the model runs. */
    rateLimit: Promise<Record<string, string> | undefined>;
  };
}
