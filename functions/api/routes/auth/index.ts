import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { registerAcceptInvitation } from './accept-invitation';
import { registerJwks } from './jwks';
import { registerLogin } from './login';
import { registerLogout } from './logout';
import { registerPasswordReset } from './password-reset';
import { registerRefresh } from './refresh';
import { registerSignup } from './signup';
import { registerVerify } from './verify';

/**
 * `/auth/*`: signup, verification, login, refresh, logout, password reset, invitation acceptance;
 * and the session keys' public half. Also the `session` security schemes of the OpenAPI document.
 */
export function registerAuth(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'session', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A session access token from POST /auth/login: `Authorization: Bearer eyJ...`',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'sessionCookie', {
    type: 'apiKey',
    in: 'cookie',
    name: 'tg_session',
    description:
      'The session cookie set by POST /auth/login (browsers; writes must come from an allowed origin).',
  });
  registerSignup(app);
  registerVerify(app);
  registerLogin(app);
  registerRefresh(app);
  registerLogout(app);
  registerPasswordReset(app);
  registerAcceptInvitation(app);
  registerJwks(app);
}
