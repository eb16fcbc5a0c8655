import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { PinSchema, presentPin } from './schemas';

const route = createRoute({
  method: 'get',
  path: '/account/models/pins',
  security: sessionSecurity,
  tags: ['Account'],
  summary: "Your tenant's model pins",
  responses: {
    200: {
      description: 'Every pin, with the version it resolves to now',
      content: {
        'application/json': { schema: z.object({ object: z.literal('list'), data: z.array(PinSchema) }) },
      },
    },
    ...errorResponses('console', [...errorsOf.session]),
  },
});

export function registerPinsList(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const deps = c.get('deps');
    const [pins, catalog] = await Promise.all([
      deps.pins.list(userSession(c).tenantId),
      deps.resolver.catalog(),
    ]);
    return c.json({ object: 'list' as const, data: pins.map((p) => presentPin(p, catalog)) }, 200);
  });
}
