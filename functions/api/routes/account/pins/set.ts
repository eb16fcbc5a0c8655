import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { PinParams, PinSchema, presentPin } from './schemas';

const Body = z
  .object({
    version: z.string().min(1).max(64).openapi({
      example: 'tesseract-5',
      description: 'A version id or an alias (an alias pin follows the alias when operators move it).',
    }),
  })
  .openapi('ModelPinRequest');

const route = createRoute({
  method: 'put',
  path: '/account/models/pins/{model}',
  security: sessionSecurity,
  tags: ['Account'],
  middleware: [requirePermission('models:manage')] as const,
  summary: 'Pin a model to a version for your tenant (overrides the default and traffic weights)',
  request: { params: PinParams, body: { required: true, content: { 'application/json': { schema: Body } } } },
  responses: {
    200: { description: 'The pin', content: { 'application/json': { schema: PinSchema } } },
    ...errorResponses('console', [
      ...errorsOf.session,
      ...errorsOf.jsonBody,
      'not_found',
      'model_not_found',
      'model_version_retired',
    ]),
  },
});

export function registerPinsSet(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { model } = c.req.valid('param');
    const { version } = c.req.valid('json');
    const deps = c.get('deps');
    // Read fresh: a pin must never be accepted against a version retired since the cache was filled.
    const entry = (await deps.catalogAdmin.load()).models.get(model);
    if (entry?.model.status !== 'active') {
      throw new ApiError('not_found', `The model '${model}' does not exist.`, { param: 'model' });
    }
    const target = entry.versions.get(entry.model.aliases[version] ?? version);
    if (!target) {
      throw new ApiError('model_not_found', `The model '${model}' has no version or alias '${version}'.`, {
        param: 'version',
      });
    }
    if (target.status === 'retired') {
      throw new ApiError(
        'model_version_retired',
        `Version '${target.version}' of '${model}' is retired; pin '${target.replacement ?? entry.model.defaultVersion}' instead.`,
        { param: 'version' },
      );
    }
    const pin = { model, version, updatedAt: deps.now().toISOString() };
    await deps.pins.set(userSession(c).tenantId, pin);
    const catalog = { models: new Map([[model, entry]]) };
    return c.json(presentPin(pin, catalog), 200);
  });
}
