import type { Catalog } from '../../../../../shared/catalog/types';
import { presentModel } from './present';

/**
 * The models a tenant may call, as `GET /v1/models` lists them (and the console's
 * `GET /account/models`): each active model by name, with its versions, the tenant's pin and the
 * version its plain requests get, followed by each callable version as `name@version`.
 */
export function tenantModelList(catalog: Catalog, tenantId: string, pins: Record<string, string>) {
  return [...catalog.models.values()]
    .filter((e) => e.model.status === 'active')
    .sort((a, b) => a.model.name.localeCompare(b.model.name))
    .flatMap((e) => {
      const model = presentModel(e, tenantId, pins);
      return [model, ...model.versions];
    });
}
