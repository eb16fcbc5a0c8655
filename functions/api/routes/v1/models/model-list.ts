import { z } from '@hono/zod-openapi';
import type { Catalog } from '#shared/catalog/types';
import type { TypicalLatency } from '#shared/observability/typical-latency';
import { ModelSchema, modelExamples, presentModel, VersionSchema } from './present';

/** The list of `GET /v1/models` (and the console's `GET /account/models`). */
export const ModelListResponse = z
  .object({ object: z.literal('list'), data: z.array(z.union([ModelSchema, VersionSchema])) })
  .openapi('ModelList');

export const modelListExample = { object: 'list', data: [modelExamples.model, modelExamples.version] };

/**
 * The models a tenant may call: each active model by name, with its versions, the tenant's pin and
 * the version its plain requests get, followed by each callable version as `name@version` (every
 * id a client can pass as `model` is an entry of its own, as OpenAI clients expect).
 */
export function tenantModelList(
  catalog: Catalog,
  tenantId: string,
  pins: Record<string, string>,
  latency?: ReadonlyMap<string, TypicalLatency>,
) {
  return [...catalog.models.values()]
    .filter((e) => e.model.status === 'active')
    .sort((a, b) => a.model.name.localeCompare(b.model.name))
    .flatMap((e) => {
      const model = presentModel(e, tenantId, pins, latency);
      return [model, ...model.versions];
    });
}
