import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { clearSessionCookies } from '#api/console/session-cookies';
import type { ConsoleEnv } from '#api/http/env';
import { sessionAuth } from '../../middleware/session-auth';
import { errorResponses, errorsOf } from '../../spec/answers';

const route = createRoute({
  method: 'post',
  path: '/auth/logout',
  tags: ['Auth'],
  summary: 'End this session',
  description: 'Its access tokens are refused from the next request on, and its refresh token is dead.',
  security: sessionSecurity,
  middleware: [sessionAuth()] as const,
  responses: {
    204: { description: 'Logged out' },
    ...errorResponses('console', [...errorsOf.session]),
  },
});

export function registerLogout(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    await c.get('deps').accounts.sessions.revoke(c.get('session').sessionId);
    clearSessionCookies(c);
    return c.body(null, 204);
  });
}
