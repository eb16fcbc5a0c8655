import type { ApiKeyAuthenticator, Principal } from '../../shared/auth/authenticator';
import type { ModelResolver } from '../../shared/catalog/resolver';
import type { Config } from '../../shared/config';
import type { IdempotencyStore } from '../../shared/idempotency/idempotency-store';
import type { newId } from '../../shared/ids';
import type { Logger } from '../../shared/logger';
import type { UsageStore } from '../../shared/metering/usage-store';
import type { ModelClient } from '../../shared/models/model-client';

/** Everything the API needs from the outside world; the local server and Lambda wire different adapters. */
export interface ApiDeps {
  config: Config;
  log: Logger;
  authenticator: ApiKeyAuthenticator;
  resolver: ModelResolver;
  models: ModelClient;
  usage: UsageStore;
  idempotency: IdempotencyStore;
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
  };
}
