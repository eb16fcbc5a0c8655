import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { AcceptedResponse, Email, Name, Password } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { signUp } from '#shared/accounts/signup';
import { errorResponses, errorsOf } from '../../spec/answers';
import { emailUnavailable, rateLimitedError } from './answers';

const SignupRequest = z
  .object({
    email: Email,
    password: Password,
    name: Name.optional().openapi({ description: 'Your name.', example: 'Ada Lovelace' }),
    company: Name.optional().openapi({
      description: "Your team or company: the tenant's name.",
      example: 'Analytical Engines',
    }),
  })
  .openapi('SignupRequest');

const route = createRoute({
  method: 'post',
  path: '/auth/signup',
  tags: ['Auth'],
  summary: 'Create an account (a tenant and its owner) and send a verification email',
  description:
    'Answers 202 whether or not the address already has an account, so the answer reveals nothing; ' +
    'the email that arrives says which. The tenant stays `pending_verification` (its keys cannot call) until verified.',
  request: { body: { required: true, content: { 'application/json': { schema: SignupRequest } } } },
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

export function registerSignup(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const result = await signUp(c.get('deps').accounts, body).catch(emailUnavailable);
    if (result.status === 'rate_limited')
      throw rateLimitedError(result.retryAfterSeconds, 'emails to this address');
    return c.json(
      {
        object: 'accepted' as const,
        message: `If ${body.email.trim().toLowerCase()} can be used, a verification email is on its way. Send its token to POST /auth/verify.`,
      },
      202,
    );
  });
}
