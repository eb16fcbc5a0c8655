import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { SessionResponse } from '#api/console/account-schemas';
import {
  clearSessionCookies,
  REFRESH_COOKIE,
  readCookie,
  sessionBody,
  setSessionCookies,
} from '#api/console/session-cookies';
import type { ConsoleEnv } from '#api/http/env';
import { refreshSession } from '#shared/accounts/login';
import { ApiError } from '#shared/errors';
import { checkSameOrigin } from '../../middleware/same-origin';
import { errorResponses, errorsOf } from '../../spec/answers';

const RefreshRequest = z
  .object({
    refresh_token: z
      .string()
      .min(1, 'must not be empty')
      .max(200, 'is not a refresh token')
      .optional()
      .openapi({ description: 'Omit to use the `tg_refresh` cookie.' }),
  })
  .openapi('RefreshRequest');

const route = createRoute({
  method: 'post',
  path: '/auth/refresh',
  tags: ['Auth'],
  summary: 'Trade a refresh token for a new access token and a new refresh token',
  description:
    'Refresh tokens are single use. Presenting one that was already traded (a sign it was copied) ends the whole session.',
  request: { body: { required: true, content: { 'application/json': { schema: RefreshRequest } } } },
  responses: {
    200: { description: 'A fresh pair', content: { 'application/json': { schema: SessionResponse } } },
    ...errorResponses('public', [
      ...errorsOf.jsonBody,
      'missing_credentials',
      'invalid_token',
      'forbidden',
      'store_unavailable',
    ]),
  },
});

export function registerRefresh(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    let token = c.req.valid('json').refresh_token;
    if (!token) {
      token = readCookie(c, REFRESH_COOKIE);
      if (!token)
        throw new ApiError('missing_credentials', 'Send `refresh_token`, or the `tg_refresh` cookie.');
      checkSameOrigin(c);
    }
    const deps = c.get('deps');
    const result = await refreshSession(deps.accounts, token);
    if (!result.ok) {
      clearSessionCookies(c);
      throw new ApiError(
        'invalid_token',
        result.reason === 'reused'
          ? 'This refresh token was already used, so the session has been ended to be safe. Log in again.'
          : 'This refresh token is not valid or its session has ended. Log in again.',
        { param: 'refresh_token' },
      );
    }
    setSessionCookies(c, result);
    return c.json(sessionBody(result, deps.now()), 200);
  });
}
