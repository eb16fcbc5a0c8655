import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { AcceptedResponse, Email, OneTimeToken } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { resendVerification, verifyEmail } from '#shared/accounts/signup';
import { errorResponses, errorsOf } from '../../spec/answers';
import { emailUnavailable, rateLimitedError, tokenError } from './answers';

const VerifyRequest = z.object({ token: OneTimeToken }).openapi('VerifyRequest');
const VerifyResponse = z
  .object({
    object: z.literal('verification'),
    status: z.literal('verified'),
    tenant_id: z.string(),
    user_id: z.string(),
  })
  .openapi('VerifyResponse');

const verifyRoute = createRoute({
  method: 'post',
  path: '/auth/verify',
  tags: ['Auth'],
  summary: 'Verify an email address with the token from the email; activates a new tenant',
  request: { body: { required: true, content: { 'application/json': { schema: VerifyRequest } } } },
  responses: {
    200: { description: 'Verified', content: { 'application/json': { schema: VerifyResponse } } },
    ...errorResponses('public', [...errorsOf.jsonBody, 'email_token_expired', 'store_unavailable']),
  },
});

const resendRoute = createRoute({
  method: 'post',
  path: '/auth/verify/resend',
  tags: ['Auth'],
  summary: 'Send a new verification email',
  description: 'Answers 202 whatever the address; only an unverified account gets an email.',
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: z.object({ email: Email }).openapi('ResendRequest') } },
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

export function registerVerify(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(verifyRoute, async (c) => {
    const result = await verifyEmail(c.get('deps').accounts, c.req.valid('json').token);
    if (result.status !== 'verified') {
      throw tokenError(result.status, 'verification', 'Ask for a new one at POST /auth/verify/resend.');
    }
    return c.json(
      {
        object: 'verification' as const,
        status: 'verified' as const,
        tenant_id: result.tenantId,
        user_id: result.userId,
      },
      200,
    );
  });

  app.openapi(resendRoute, async (c) => {
    const { email } = c.req.valid('json');
    const result = await resendVerification(c.get('deps').accounts, email).catch(emailUnavailable);
    if (result.status === 'rate_limited')
      throw rateLimitedError(result.retryAfterSeconds, 'emails to this address');
    return c.json(
      {
        object: 'accepted' as const,
        message: 'If that address has an unverified account, a new verification email is on its way.',
      },
      202,
    );
  });
}
