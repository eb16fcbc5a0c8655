import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { DataEnv } from '#api/http/env';
import { errorResponses, errorsOf, v1Ok } from '#api/spec/answers';
import { modelRefusal, versionAllowed, versionsAllowed } from '#shared/auth/key-scope-rules';
import { parseModelRef } from '#shared/catalog/resolver';
import { ApiError } from '#shared/errors';
import { scopedModel } from './model-list';
import { ModelSchema, modelExamples, presentModel, presentVersion, VersionSchema } from './present';

const Params = z.object({
  id: z
    .string()
    .min(1)
    .max(130)
    .openapi({
      param: { name: 'id', in: 'path' },
      example: 'ocr',
      description: '`name` for the model, `name@version` or `name@alias` for one version.',
    }),
});

const route = createRoute({
  method: 'get',
  path: '/v1/models/{id}',
  tags: ['Models'],
  summary: 'One model, or one version of it',
  description:
    'A version is shown even when retired, with the replacement to call instead. A key limited to some models or versions is answered 403 `model_not_in_key_scope` for the others.',
  security: [{ apiKey: ['models:invoke'] }],
  request: { params: Params },
  responses: {
    200: v1Ok({
      description: 'The model or the version',
      content: {
        'application/json': {
          schema: z.union([ModelSchema, VersionSchema]),
          examples: {
            model: { summary: 'GET /v1/models/sentiment', value: modelExamples.model },
            version: { summary: 'GET /v1/models/sentiment@v1', value: modelExamples.version },
          },
        },
      },
    }),
    ...errorResponses('v1', [...errorsOf.apiKey, 'invalid_request', 'not_found', 'model_not_in_key_scope']),
  },
});

export function registerModelsGet(app: OpenAPIHono<DataEnv>): void {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const deps = c.get('deps');
    const { tenantId, keyScope } = c.get('principal');
    const ref = parseModelRef(id);
    const entry = ref && (await deps.resolver.catalog()).models.get(ref.name);
    if (!ref || entry?.model.status !== 'active') {
      throw new ApiError('not_found', `The model '${id}' does not exist. GET /v1/models lists them.`, {
        param: 'id',
      });
    }
    if (versionsAllowed(keyScope, ref.name) === 'none') throw modelRefusal(keyScope!, id, undefined, 'id');
    if (ref.requested === undefined) {
      const [pins, latency] = await Promise.all([
        deps.pins.forTenant(tenantId),
        deps.typicalLatency.byVersion(),
      ]);
      return c.json(scopedModel(presentModel(entry, tenantId, pins, latency), entry, keyScope), 200);
    }
    const version = entry.versions.get(entry.model.aliases[ref.requested] ?? ref.requested);
    if (!version) {
      throw new ApiError('not_found', `The model '${ref.name}' has no version or alias '${ref.requested}'.`, {
        param: 'id',
      });
    }
    if (!versionAllowed(keyScope, ref.name, version.version))
      throw modelRefusal(keyScope!, id, `${ref.name}@${version.version}`, 'id');
    const latency = await deps.typicalLatency.byVersion();
    return c.json(presentVersion(version, { task: entry.model.task, latency }), 200);
  });
}
