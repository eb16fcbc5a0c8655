import type { TransactItem } from '../db/transact';
import { newId } from '../ids';
import { DEFAULT_PROJECT_ID } from '../projects/project';
import type { ApiKey, ApiKeyStore, KeyLimits } from './api-key-store';
import { generateApiKey } from './api-keys';
import type { KeyScope } from './key-scope';

export interface IssuedApiKey {
  key: ApiKey;
  /** The only time the secret exists outside its holder's hands. */
  secret: string;
}

export interface ApiKeyInput {
  tenantId: string;
  name: string;
  scopes?: string[];
  expiresAt?: string | null;
  limits?: KeyLimits | null;
  /** What the key is restricted to; absent or null: nothing beyond its project's rights. */
  scope?: KeyScope | null;
  createdBy?: string | null;
  /** The key's project; absent or the default project: none stored (as keys from before projects). */
  projectId?: string;
  now?: Date;
}

/** A new key record and its secret, not yet stored (rotation stores it with the old key's update). */
export function prepareApiKey(input: ApiKeyInput): IssuedApiKey & { hash: string } {
  const { secret, hash, visiblePrefix } = generateApiKey();
  const now = input.now ?? new Date();
  const key: ApiKey = {
    id: newId('key', now.getTime()),
    tenantId: input.tenantId,
    name: input.name,
    visiblePrefix,
    status: 'active',
    scopes: input.scopes ?? [],
    createdAt: now.toISOString(),
    expiresAt: input.expiresAt ?? null,
    limits: input.limits ?? null,
    createdBy: input.createdBy ?? null,
    lastUsedAt: null,
    rotatedTo: null,
    ...(input.projectId && input.projectId !== DEFAULT_PROJECT_ID ? { projectId: input.projectId } : {}),
    ...(input.scope ? { scope: input.scope } : {}),
  };
  return { key, secret, hash };
}

/**
 * Makes a key for a tenant and stores only its hash; `also` (the audit entry of the new key) goes
 * in the same transaction.
 */
export async function issueApiKey(
  store: ApiKeyStore,
  input: ApiKeyInput,
  also: (key: ApiKey) => TransactItem[] = () => [],
): Promise<IssuedApiKey> {
  const { key, secret, hash } = prepareApiKey(input);
  await store.create(key, hash, also(key));
  return { key, secret };
}
