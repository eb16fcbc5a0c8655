import { newId } from '../ids';
import type { LimitOverrides } from '../quotas/plans';
import type { ApiKey, ApiKeyStore } from './api-key-store';
import { generateApiKey } from './api-keys';

export interface IssuedApiKey {
  key: ApiKey;
  /** The only time the secret exists outside its holder's hands. */
  secret: string;
}

/** Makes a key for a tenant and stores only its hash. */
export async function issueApiKey(
  store: ApiKeyStore,
  input: {
    tenantId: string;
    name: string;
    scopes?: string[];
    expiresAt?: string | null;
    limits?: LimitOverrides;
    now?: Date;
  },
): Promise<IssuedApiKey> {
  const { secret, hash, visiblePrefix } = generateApiKey();
  const key: ApiKey = {
    id: newId('key'),
    tenantId: input.tenantId,
    name: input.name,
    visiblePrefix,
    status: 'active',
    scopes: input.scopes ?? [],
    createdAt: (input.now ?? new Date()).toISOString(),
    expiresAt: input.expiresAt ?? null,
    ...(input.limits ? { limits: input.limits } : {}),
  };
  await store.create(key, hash);
  return { key, secret };
}
