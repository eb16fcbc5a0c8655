import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { AcceptedResponse, Email, OneTimeToken, Password } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { requestPasswordReset, resetPassword } from '#shared/accounts/password-reset';
import { errorResponses, errorsOf } from '../../spec/answers';
import { emailUnavailable, rateLimitedError, tokenError } from './answers';

const requestRoute = createRoute({
  method: 'post',
  path: '/auth/password-reset',
  tags: ['Auth'],
  summary: 'Email a password reset token',
  description: 'Answers 202 whatever the address, so it reveals nothing.',
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: z.object({ email: Email }).openapi('PasswordResetRequest') } },
    },
  },
  responses: {
    202: { description: 'Check the inbox', content: { 'application/json': { schema: AcceptedResponse } } },
    ...errorResponses('public', [
      ...errorsOf.jsonBody,
      'rate_limited',
      'email_unavailable',
      'store_unavailable',
    ]),
  },
});

const ConfirmRequest = z.object({ token: OneTimeToken, password: Password }).openapi('PasswordResetConfirm');

const confirmRoute = createRoute({
  method: 'post',
  path: '/auth/password-reset/confirm',
  tags: ['Auth'],
  summary: 'Set a new password with the emailed token; ends every session of the account',
  request: { body: { required: true, content: { 'application/json': { schema: ConfirmRequest } } } },
  responses: {
    200: {
      description: 'Password changed',
      content: {
        'application/json': {
          schema: z
            .object({
              object: z.literal('password_reset'),
              status: z.literal('reset'),
              sessions_ended: z.number().int(),
            })
            .openapi('PasswordResetDone'),
        },
      },
    },
    ...errorResponses('public', [...errorsOf.jsonBody, 'email_token_expired', 'store_unavailable']),
  },
});

export function registerPasswordReset(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(requestRoute, async (c) => {
    const result = await requestPasswordReset(c.get('deps').accounts, c.req.valid('json').email).catch(
      emailUnavailable,
    );
    if (result.status === 'rate_limited')
      throw rateLimitedError(result.retryAfterSeconds, 'emails to this address');
    return c.json(
      {
        object: 'accepted' as const,
        message: 'If that address has an account, a reset email is on its way.',
      },
      202,
    );
  });

  app.openapi(confirmRoute, async (c) => {
    const { token, password } = c.req.valid('json');
    const result = await resetPassword(c.get('deps').accounts, token, password);
    if (result.status !== 'reset') {
      throw tokenError(result.status, 'password reset', 'Ask for a new one at POST /auth/password-reset.');
    }
    return c.json(
      { object: 'password_reset' as const, status: 'reset' as const, sessions_ended: result.sessionsEnded },
      200,
    );
  });
}
