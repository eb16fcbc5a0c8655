import { TtlCache } from '../cache';
import { pickByWeight, trafficPoint, trafficSlots } from './traffic';
import type { Catalog, CatalogSource, ModelDefinition, ModelVersion } from './types';

/** Which rule chose the version: an explicit `@version`/`@alias`, the tenant's pin, weighted traffic, or the default. */
export type SelectedBy = 'version' | 'alias' | 'pin' | 'traffic' | 'default';

export type Resolution =
  | { ok: true; model: ModelDefinition; version: ModelVersion; selectedBy: SelectedBy }
  | { ok: false; reason: 'unknown_model'; model: string }
  | { ok: false; reason: 'unknown_version'; model: string; version: string; pinned?: boolean }
  | {
      ok: false;
      reason: 'retired';
      model: string;
      version: string;
      replacement: string;
      pinned?: boolean;
    };

export interface ResolveContext {
  /** The caller's tenant: weighted traffic is sticky per tenant. */
  tenantId?: string;
  /** The tenant's pins: model name -> version id or alias. */
  pins?: Record<string, string>;
}

const REF_RE = /^([a-z0-9][a-z0-9-]{0,63})(?:@([A-Za-z0-9][A-Za-z0-9._-]{0,63}))?$/;

/** Splits `name`, `name@version`, `name@alias`; undefined when the text cannot be a model reference. */
export function parseModelRef(ref: string): { name: string; requested?: string } | undefined {
  const match = REF_RE.exec(ref);
  if (!match) return undefined;
  const [, name, requested] = match as unknown as [string, string, string | undefined];
  return requested === undefined ? { name } : { name, requested };
}

/**
 * Turns what a request names (`model`, `model@version`, `model@alias`) into the version that
 * serves it. Order: an explicit version or alias always wins; then the tenant's pin; then weighted
 * traffic, sticky per tenant; then the model's default. The catalog is cached for `ttlMs`: an
 * operator's change reaches the hot path within that bound, and a warm request costs no store read.
 */
export class ModelResolver {
  private readonly cache: TtlCache<Catalog>;

  constructor(
    private readonly store: CatalogSource,
    ttlMs: number,
  ) {
    // A TTL of zero would mean one Query per request; keep at least a short cache.
    this.cache = new TtlCache(Math.max(ttlMs, 1), 1);
  }

  catalog(): Promise<Catalog> {
    return this.cache.getOrLoad('catalog', () => this.store.load());
  }

  /** Forgets the cached catalog (the instance that made a change sees it at once). */
  invalidate(): void {
    this.cache.delete('catalog');
  }

  async resolve(ref: string, ctx: ResolveContext = {}): Promise<Resolution> {
    const parsed = parseModelRef(ref);
    if (!parsed) return { ok: false, reason: 'unknown_model', model: ref };
    const { name, requested } = parsed;
    const entry = (await this.catalog()).models.get(name);
    if (entry?.model.status !== 'active') return { ok: false, reason: 'unknown_model', model: name };
    const { model } = entry;

    let versionId: string;
    let selectedBy: SelectedBy;
    const pin = requested === undefined ? ctx.pins?.[name] : undefined;
    if (requested !== undefined) {
      selectedBy = model.aliases[requested] !== undefined ? 'alias' : 'version';
      versionId = model.aliases[requested] ?? requested;
    } else if (pin !== undefined) {
      selectedBy = 'pin';
      versionId = model.aliases[pin] ?? pin;
    } else {
      const weighted =
        ctx.tenantId === undefined
          ? undefined
          : pickByWeight(trafficPoint(ctx.tenantId, name), trafficSlots(entry));
      selectedBy = weighted === undefined ? 'default' : 'traffic';
      versionId = weighted ?? model.defaultVersion;
    }

    const pinned = selectedBy === 'pin' ? { pinned: true } : {};
    const version = entry.versions.get(versionId);
    if (!version) {
      return {
        ok: false,
        reason: 'unknown_version',
        model: name,
        version: requested ?? pin ?? versionId,
        ...pinned,
      };
    }
    if (version.status === 'retired') {
      const replacement = version.replacement ?? model.defaultVersion;
      return { ok: false, reason: 'retired', model: name, version: versionId, replacement, ...pinned };
    }
    return { ok: true, model, version, selectedBy };
  }
}
