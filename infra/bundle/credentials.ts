/**
 * `@aws-sdk/credential-provider-node` for the Lambda bundles (esbuild's `--alias`): the default
 * credential chain cut down to its first link, the environment. Lambda always puts the execution
 * role's credentials there (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); the rest
 * of the chain (SSO, profiles, web identity, container and instance metadata) is for other hosts,
 * and carried about 115 KB into every bundle (the STS and SSO clients in `@aws-sdk/nested-clients`).
 * The SDK clients import only `defaultProvider` from it; a client version that wanted more would
 * fail the build ("No matching export"), not the function. Local runs and tests use the real chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}): ReturnType<typeof fromEnv> =>
  fromEnv(init);
