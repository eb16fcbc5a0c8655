import { TtlCache } from '../cache';
import { projectIdOf } from '../projects/project';
import { type Tenant, type TenantStore, tenantMayCall } from '../tenants/tenant-store';
import type { ApiKeyLookup, ApiKeyStore, KeyLimits } from './api-key-store';
import { hashApiKey, looksLikeApiKey } from './api-keys';
import type { KeyScope } from './key-scope';

/** Who is calling, as far as the API is concerned. Comes only from the credential. */
export interface Principal {
  tenantId: string;
  keyId: string;
  scopes: string[];
  tenant: Tenant;
  keyLimits?: KeyLimits;
  /** The key's project (`proj_default` for keys from before projects). */
  projectId: string;
  /** What the key is restricted to; absent: nothing beyond its tenant's and project's rights. */
  keyScope?: KeyScope;
}

export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' | 'expired' }
  | { ok: false; reason: 'tenant_inactive'; tenant: Tenant };

/**
 * Turns a presented API key into a principal. Verified keys and their tenants are cached for
 * `ttlMs`: that is the longest a revocation or suspension can lag on one instance, and the only
 * store reads on a warm path are none at all.
 */
export class ApiKeyAuthenticator {
  private readonly keyCache: TtlCache<ApiKeyLookup | null>;
  private readonly tenantCache: TtlCache<Tenant | null>;

  constructor(
    private readonly keyStore: ApiKeyStore,
    private readonly tenantStore: TenantStore,
    ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.keyCache = new TtlCache(ttlMs, 10_000, now);
    this.tenantCache = new TtlCache(ttlMs, 10_000, now);
  }

  /**
   * Drops a key (by hash) from this instance's cache, so a revocation handled here bites at once;
   * other instances follow within the TTL.
   */
  forgetKey(hash: string): void {
    this.keyCache.delete(hash);
  }

  /** Drops a tenant from this instance's cache (after a suspension or reactivation). */
  forgetTenant(tenantId: string): void {
    this.tenantCache.delete(tenantId);
  }

  /**
   * The principal of a key known by id, for work done on its behalf later (a batch's lines): the
   * same checks as `authenticate` (revoked, expired, the tenant's state), from the key's record.
   */
  async authenticateKeyId(tenantId: string, keyId: string): Promise<AuthResult> {
    const key = await this.keyStore.get(tenantId, keyId);
    if (!key) return { ok: false, reason: 'unknown' };
    return this.principalOf({
      keyId: key.id,
      tenantId: key.tenantId,
      status: key.status,
      scopes: key.scopes,
      expiresAt: key.expiresAt,
      ...(key.limits ? { limits: key.limits } : {}),
      ...(key.projectId ? { projectId: key.projectId } : {}),
      ...(key.scope ? { scope: key.scope } : {}),
    });
  }

  async authenticate(secret: string): Promise<AuthResult> {
    if (!looksLikeApiKey(secret)) return { ok: false, reason: 'malformed' };
    const hash = hashApiKey(secret);
    // The store lookup is by the hash itself, so no secret comparison happens in this process.
    const key = await this.keyCache.getOrLoad(
      hash,
      async () => (await this.keyStore.findByHash(hash)) ?? null,
    );
    if (!key) return { ok: false, reason: 'unknown' };
    return this.principalOf(key);
  }

  private async principalOf(key: ApiKeyLookup): Promise<AuthResult> {
    if (key.status === 'revoked') return { ok: false, reason: 'revoked' };
    if (key.expiresAt && Date.parse(key.expiresAt) <= this.now()) return { ok: false, reason: 'expired' };
    const tenant = await this.tenantCache.getOrLoad(
      key.tenantId,
      async () => (await this.tenantStore.get(key.tenantId)) ?? null,
    );
    if (!tenant) return { ok: false, reason: 'unknown' };
    if (!tenantMayCall(tenant.status)) return { ok: false, reason: 'tenant_inactive', tenant };
    return {
      ok: true,
      principal: {
        tenantId: key.tenantId,
        keyId: key.keyId,
        scopes: key.scopes,
        tenant,
        ...(key.limits ? { keyLimits: key.limits } : {}),
        projectId: projectIdOf(key),
        ...(key.scope ? { keyScope: key.scope } : {}),
      },
    };
  }
}
