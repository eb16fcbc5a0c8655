import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses } from '../../spec/answers';

const route = createRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  tags: ['Auth'],
  summary: 'The public keys session tokens are signed with (ES256), by kid',
  responses: {
    200: {
      description: 'A JWK set',
      content: {
        'application/json': {
          schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).openapi('Jwks'),
        },
      },
    },
    ...errorResponses('public', []),
  },
});

export function registerJwks(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const jwks = await c.get('deps').accounts.accessTokens.publicJwks();
    c.header('cache-control', 'public, max-age=300');
    return c.json(jwks, 200);
  });
}
