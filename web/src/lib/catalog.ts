import { get } from './api';
import type { CatalogModel, CatalogVersion, List } from './types';

export interface CatalogView {
  models: CatalogModel[];
  /** Every callable id: `chat`, `chat@tiny-1`, ... */
  ids: string[];
  /** True when the server lists versions with status and prices (the fuller catalog). */
  detailed: boolean;
}

/**
 * Reads GET /v1/models with an API key, as any client does. Works with the minimal list (ids
 * only) and with the fuller one (models with versions, status, prices, pins).
 */
export async function loadCatalog(apiKey: string, signal?: AbortSignal): Promise<CatalogView> {
  const list = await get<List<CatalogModel | CatalogVersion>>('/v1/models', { auth: { apiKey }, signal });
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
  return [m.id, ...(m.versions ?? []).filter((v) => v.status !== 'retired').map((v) => v.id)];
}
