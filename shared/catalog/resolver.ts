import { TtlCache } from '../cache';
import type { CatalogStore } from './catalog-store';
import type { Catalog, ModelDefinition, ModelVersion } from './types';

export type Resolution =
  | { ok: true; model: ModelDefinition; version: ModelVersion }
  | { ok: false; reason: 'unknown_model'; model: string }
  | { ok: false; reason: 'unknown_version'; model: string; version: string }
  | { ok: false; reason: 'retired'; model: string; version: string; replacement: string };

const REF_RE = /^([a-z0-9][a-z0-9-]{0,63})(?:@([A-Za-z0-9][A-Za-z0-9._-]{0,63}))?$/;

/**
 * Turns what a request names (`model`, `model@version`, `model@alias`) into the version that
 * serves it. The catalog is cached for `ttlMs`: an operator's change reaches the hot path within
 * that bound, and a warm request costs no store read.
 */
export class ModelResolver {
  private readonly cache: TtlCache<Catalog>;

  constructor(
    private readonly store: CatalogStore,
    ttlMs: number,
  ) {
    // A TTL of zero would mean one Query per request; keep at least a short cache.
    this.cache = new TtlCache(Math.max(ttlMs, 1), 1);
  }

  catalog(): Promise<Catalog> {
    return this.cache.getOrLoad('catalog', () => this.store.load());
  }

  async resolve(ref: string): Promise<Resolution> {
    const match = REF_RE.exec(ref);
    if (!match) return { ok: false, reason: 'unknown_model', model: ref };
    const [, name, requested] = match as unknown as [string, string, string | undefined];
    const entry = (await this.catalog()).models.get(name);
    if (entry?.model.status !== 'active') return { ok: false, reason: 'unknown_model', model: name };
    const versionId = requested ? (entry.model.aliases[requested] ?? requested) : entry.model.defaultVersion;
    const version = entry.versions.get(versionId);
    if (!version)
      return { ok: false, reason: 'unknown_version', model: name, version: requested ?? versionId };
    if (version.status === 'retired') {
      return {
        ok: false,
        reason: 'retired',
        model: name,
        version: versionId,
        replacement: entry.model.defaultVersion,
      };
    }
    return { ok: true, model: entry.model, version };
  }
}
