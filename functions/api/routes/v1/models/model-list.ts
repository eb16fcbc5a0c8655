import { z } from '@hono/zod-openapi';
import type { KeyScope } from '#shared/auth/key-scope';
import { versionAllowed, versionsAllowed } from '#shared/auth/key-scope-rules';
import type { Catalog, CatalogEntry } from '#shared/catalog/types';
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
  /** The calling key's scope: only the models and versions it may call are listed. */
  scope?: KeyScope,
) {
  return [...catalog.models.values()]
    .filter((e) => e.model.status === 'active' && versionsAllowed(scope, e.model.name) !== 'none')
    .sort((a, b) => a.model.name.localeCompare(b.model.name))
    .flatMap((e) => {
      const model = scopedModel(presentModel(e, tenantId, pins, latency), e, scope);
      return [model, ...model.versions];
    });
}

/**
 * A model as a scoped key sees it: the versions it may call, and the version its plain requests
 * get (the scope's first version that is not retired when the tenant's would be outside it, as
 * gateway/inference.ts routes them).
 */
export function scopedModel<M extends ReturnType<typeof presentModel>>(
  model: M,
  entry: CatalogEntry,
  scope: KeyScope | undefined,
): M {
  const allowed = versionsAllowed(scope, model.id);
  if (allowed === 'all' || allowed === 'none') return model;
  const serving = model.serving_version?.slice(model.id.length + 1);
  let routed = model.serving_version;
  if (serving === undefined || !versionAllowed(scope, model.id, serving)) {
    const first = allowed.find((a) => {
      const version = entry.versions.get(a);
      return version !== undefined && version.status !== 'retired';
    });
    routed = first === undefined ? null : `${model.id}@${first}`;
  }
  return {
    ...model,
    serving_version: routed,
    versions: model.versions.filter((v) => versionAllowed(scope, model.id, v.version)),
  };
}
