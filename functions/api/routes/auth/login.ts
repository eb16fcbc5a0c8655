import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { Email, SessionResponse } from '#api/console/account-schemas';
import { sessionBody, setSessionCookies } from '#api/console/session-cookies';
import type { ConsoleEnv } from '#api/http/env';
import { logIn } from '#shared/accounts/login';
import { ApiError } from '#shared/errors';
import { errorResponses, errorsOf } from '../../spec/answers';
import { rateLimitedError } from './answers';

const LoginRequest = z
  .object({
    email: Email,
    // Not the signup rules: an old password that predates them must still be accepted here.
    password: z.string().min(1, 'must not be empty').max(1024, 'must be at most 1024 characters'),
  })
  .openapi('LoginRequest');

/** A tenant owner logging in. */
const example = {
  request: { email: 'ada@example.com', password: 'correct horse battery staple' },
  response: {
    object: 'session',
    token_type: 'Bearer',
    access_token: 'eyJhbGciOiJFUzI1NiIsImtpZCI6InNrXzAxIn0.eyJzdWIiOiJ1c3JfMDFNOTcifQ.c2lnbmF0dXJl',
    expires_in: 900,
    refresh_token: 'tgr_ZriMGOrK6uJsvr-V7t7MJ25n5XB15vFFpKBxm0Lr9uY',
    refresh_expires_at: '2026-12-02T09:14:05.120Z',
    session_id: 'ses_01M97D1FGKXQ4V7Z2D9R1B8N6C',
    subject: {
      kind: 'user',
      user_id: 'usr_01M97D1FGKT5YEAA16KHV1Z6B3',
      tenant_id: 'ten_01M97D1FGK2GHMSW9Y76AT843E',
    },
  },
} as const satisfies { request: z.input<typeof LoginRequest>; response: z.infer<typeof SessionResponse> };

const route = createRoute({
  method: 'post',
  path: '/auth/login',
  tags: ['Auth'],
  summary: 'Log in (tenant users and operators); returns a session as cookies and as tokens',
  description:
    'Sets `tg_session` (the access token) and `tg_refresh` cookies, HttpOnly, SameSite=Strict, Secure except on localhost, ' +
    'and returns the same tokens for scripts. Failed attempts are limited per address and per client IP (429 with Retry-After).',
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: LoginRequest, example: example.request } },
    },
  },
  responses: {
    200: {
      description: 'Logged in',
      content: { 'application/json': { schema: SessionResponse, example: example.response } },
    },
    ...errorResponses('public', [
      ...errorsOf.jsonBody,
      'invalid_credentials',
      'email_not_verified',
      'rate_limited',
      'store_unavailable',
    ]),
  },
});

export function registerLogin(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { email, password } = c.req.valid('json');
    const deps = c.get('deps');
    const result = await logIn(deps.accounts, { email, password, clientIp: deps.clientIp(c) ?? 'unknown' });
    if (!result.ok) {
      if (result.reason === 'rate_limited') {
        // Neither the address nor the password: which limit, how many lockouts in a row, how long.
        if (result.lockout) {
          c.get('log').warn(
            { ...result.lockout, retryAfterSeconds: result.retryAfterSeconds, clientIp: deps.clientIp(c) },
            'login locked out',
          );
        }
        throw rateLimitedError(result.retryAfterSeconds, 'failed logins');
      }
      if (result.reason === 'email_not_verified') {
        throw new ApiError(
          'email_not_verified',
          'Verify your email first: use the token we sent (POST /auth/verify), or ask for a new one (POST /auth/verify/resend).',
        );
      }
      throw new ApiError('invalid_credentials', 'Wrong email or password.');
    }
    setSessionCookies(c, result);
    return c.json(sessionBody(result, deps.now()), 200);
  });
}
