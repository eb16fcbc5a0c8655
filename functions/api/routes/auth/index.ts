import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ConsoleEnv } from '#api/http/env';
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
 * and the session keys' public half. (The `session` security schemes are in spec/document.ts.)
 */
export function registerAuth(app: OpenAPIHono<ConsoleEnv>): void {
  registerSignup(app);
  registerVerify(app);
  registerLogin(app);
  registerRefresh(app);
  registerLogout(app);
  registerPasswordReset(app);
  registerAcceptInvitation(app);
  registerJwks(app);
}
