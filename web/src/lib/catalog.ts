import { ApiFailure, get } from './api';
import type { CatalogModel, CatalogVersion, List } from './types';

export interface CatalogView {
  models: CatalogModel[];
  /** Every callable id: `chat`, `chat@tiny-1`, ... */
  ids: string[];
  /** True when the server lists versions with status and prices (the fuller catalog). */
  detailed: boolean;
}

type Entries = List<CatalogModel | CatalogVersion>;

/**
 * The signed-in tenant's catalog: GET /account/models with the session (the list GET /v1/models
 * answers the tenant's keys), so no key is needed to see models, prices and pins. A server
 * without that route is read through GET /v1/models with the key this tab holds; null when it
 * holds none. Works with the minimal list (ids only) and with the fuller one (versions, status,
 * prices, pins).
 */
export async function loadCatalog(apiKey: string | null, signal?: AbortSignal): Promise<CatalogView | null> {
  let list: Entries;
  try {
    list = await get<Entries>('/account/models', { signal });
  } catch (err) {
    if (!(err instanceof ApiFailure && err.routeMissing)) throw err;
    if (!apiKey) return null;
    list = await get<Entries>('/v1/models', { auth: { apiKey }, signal });
  }
  const ids = list.data.map((m) => m.id);
  const byName = new Map<string, CatalogModel>();
  let detailed = false;
  for (const entry of list.data) {
    if (!entry.id.includes('@')) {
      const m = entry as CatalogModel;
      if (m.versions) detailed = true;
      byName.set(m.id, { ...m, versions: m.versions ?? [] });
    }
  }
  for (const entry of list.data) {
    const at = entry.id.indexOf('@');
    if (at === -1) continue;
    const name = entry.id.slice(0, at);
    const model = byName.get(name) ?? { id: name, object: 'model' as const, versions: [] };
    byName.set(name, model);
    if (!model.versions!.some((v) => v.id === entry.id)) {
      model.versions!.push({ ...(entry as CatalogVersion), model: name, version: entry.id.slice(at + 1) });
    }
  }
  return { models: [...byName.values()].sort((a, b) => a.id.localeCompare(b.id)), ids, detailed };
}

/** The ids to offer for one model: the bare name (its default) first, then each version. */
export function choicesFor(catalog: CatalogView | null, model: string): string[] {
  const m = catalog?.models.find((x) => x.id === model);
  if (!m) return [model];
  // A version that is not installed cannot answer: it is not offered (the Models page says why).
  return [
    m.id,
    ...(m.versions ?? []).filter((v) => v.status !== 'retired' && v.available !== false).map((v) => v.id),
  ];
}
