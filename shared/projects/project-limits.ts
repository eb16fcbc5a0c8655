import { TtlCache } from '../cache';
import type { Project } from './project';

/** Where a project is read from (ProjectStore; the default project without an item is synthesized). */
export interface ProjectSource {
  get(tenantId: string, projectId: string): Promise<Project | undefined>;
}

/**
 * Projects as the hot path sees them: one GetItem per tenant x project per instance every
 * `ttlMs` (AUTH_CACHE_TTL_MS, as the tenant's record), so a change of a project's limits reaches
 * every instance within that, and at once on the instance that made it (`forget`). An unknown
 * project (an archived one's keys are revoked; a project deleted under a key) is cached as none:
 * its keys are held to the tenant's and their own limits only.
 */
export class ProjectLimitsCache {
  private readonly cache: TtlCache<Project | null>;

  constructor(
    private readonly source: ProjectSource,
    ttlMs: number,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache(ttlMs, 10_000, now);
  }

  async get(tenantId: string, projectId: string): Promise<Project | null> {
    return this.cache.getOrLoad(
      `${tenantId}#${projectId}`,
      async () => (await this.source.get(tenantId, projectId)) ?? null,
    );
  }

  /** Drops a project from this instance's cache (its limits changed here). */
  forget(tenantId: string, projectId: string): void {
    this.cache.delete(`${tenantId}#${projectId}`);
  }
}
