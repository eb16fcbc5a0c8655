import { createMiddleware } from 'hono/factory';
import { API_KEY_PREFIX } from '#shared/auth/api-keys';
import { isLive } from '#shared/auth/sessions/session-store';
import { ApiError } from '#shared/errors';
import { readCookie, SESSION_COOKIE } from '../console/session-cookies';
import type { SessionContext, SessionEnv } from '../http/env';
import { checkSameOrigin } from './same-origin';

const BEARER_RE = /^Bearer\s+(\S+)\s*$/i;

function ended(): ApiError {
  return new ApiError('invalid_token', 'This session has ended. Log in again at POST /auth/login.');
}

/**
 * Authenticates a console session: `Authorization: Bearer <access token>` (scripts) or the
 * `tg_session` cookie (browsers; writes must then pass the same-origin check). The token's
 * signature, algorithm, issuer, audience and expiry are checked, then the session itself (so
 * logout bites at once) and, for users, their membership and tenant (so a removed member is out
 * at once). 401 `missing_credentials`, `invalid_token` or `token_expired`.
 */
export function sessionAuth() {
  return createMiddleware<SessionEnv>(async (c, next) => {
    const header = c.req.header('authorization');
    let token: string | undefined;
    let via: SessionContext['via'];
    if (header) {
      via = 'bearer';
      token = BEARER_RE.exec(header)?.[1];
      if (!token)
        throw new ApiError('invalid_token', 'The Authorization header must be `Bearer <access_token>`.');
      if (token.startsWith(API_KEY_PREFIX)) {
        throw new ApiError(
          'invalid_token',
          'API keys call the models under /v1; account routes need a session token from POST /auth/login.',
        );
      }
    } else {
      via = 'cookie';
      token = readCookie(c, SESSION_COOKIE);
      if (!token) {
        throw new ApiError(
          'missing_credentials',
          'Log in first: POST /auth/login, then send `Authorization: Bearer <access_token>` (or keep the session cookie).',
        );
      }
      checkSameOrigin(c);
    }

    const { accounts } = c.get('deps');
    const check = await accounts.accessTokens.verify(token);
    if (!check.ok) {
      if (check.reason === 'expired') {
        throw new ApiError(
          'token_expired',
          'The access token has expired. Refresh it at POST /auth/refresh.',
        );
      }
      throw new ApiError('invalid_token', 'The access token is not valid.');
    }
    const { claims } = check;
    const now = c.get('deps').now();
    const subject = claims.subject;
    if (subject.kind === 'user') {
      const [session, member, tenant] = await Promise.all([
        accounts.sessions.get(claims.sessionId),
        accounts.users.getMember(subject.tenantId, subject.userId),
        accounts.tenants.get(subject.tenantId),
      ]);
      const same =
        session?.subject.kind === 'user' &&
        session.subject.userId === subject.userId &&
        session.subject.tenantId === subject.tenantId;
      if (!session || !same || !isLive(session, now) || !member || !tenant) throw ended();
      c.set('session', {
        kind: 'user',
        sessionId: session.id,
        via,
        userId: subject.userId,
        tenantId: subject.tenantId,
        member,
        tenant,
      });
    } else {
      const [session, operator] = await Promise.all([
        accounts.sessions.get(claims.sessionId),
        accounts.operators.get(subject.operatorId),
      ]);
      const same = session?.subject.kind === 'operator' && session.subject.operatorId === subject.operatorId;
      if (!session || !same || !isLive(session, now) || !operator) throw ended();
      c.set('session', {
        kind: 'operator',
        sessionId: session.id,
        via,
        operatorId: operator.id,
        email: operator.email,
      });
    }
    await next();
  });
}
