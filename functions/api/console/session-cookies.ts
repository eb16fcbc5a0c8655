import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { IssuedSession } from '#shared/accounts/login';
import type { CoreEnv } from '../http/env';

/** The access token, sent on every request to the API. */
export const SESSION_COOKIE = 'tg_session';
/** The refresh token, sent only to `/auth` (where refresh and logout live). */
export const REFRESH_COOKIE = 'tg_refresh';

/** `Secure` everywhere but plain-http localhost, where browsers would drop a Secure cookie. */
function isLocalhost(c: Context): boolean {
  const host = new URL(c.req.url).hostname;
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host.endsWith('.localhost');
}

/**
 * Sets both cookies: HttpOnly (scripts in the page cannot read them), SameSite=Strict (other
 * sites' requests do not carry them) and Secure (except on localhost).
 */
export function setSessionCookies<E extends CoreEnv>(c: Context<E>, issued: IssuedSession): void {
  const now = c.get('deps').now().getTime();
  const base = { httpOnly: true, secure: !isLocalhost(c), sameSite: 'Strict' as const };
  setCookie(c, SESSION_COOKIE, issued.accessToken, {
    ...base,
    path: '/',
    maxAge: Math.max(1, Math.ceil((issued.accessExpiresAt.getTime() - now) / 1000)),
  });
  setCookie(c, REFRESH_COOKIE, issued.refreshToken, {
    ...base,
    path: '/auth',
    maxAge: Math.max(1, Math.ceil((Date.parse(issued.session.expiresAt) - now) / 1000)),
  });
}

export function clearSessionCookies(c: Context): void {
  const base = { httpOnly: true, secure: !isLocalhost(c), sameSite: 'Strict' as const };
  deleteCookie(c, SESSION_COOKIE, { ...base, path: '/' });
  deleteCookie(c, REFRESH_COOKIE, { ...base, path: '/auth' });
}

export function readCookie(c: Context, name: string): string | undefined {
  return getCookie(c, name) || undefined;
}

/** The body every login and refresh answers with (the tokens, for scripts that do not keep cookies). */
export function sessionBody(issued: IssuedSession, now: Date) {
  return {
    object: 'session' as const,
    token_type: 'Bearer' as const,
    access_token: issued.accessToken,
    expires_in: Math.max(0, Math.ceil((issued.accessExpiresAt.getTime() - now.getTime()) / 1000)),
    refresh_token: issued.refreshToken,
    refresh_expires_at: issued.session.expiresAt,
    session_id: issued.session.id,
    subject:
      issued.session.subject.kind === 'user'
        ? {
            kind: 'user' as const,
            user_id: issued.session.subject.userId,
            tenant_id: issued.session.subject.tenantId,
          }
        : { kind: 'operator' as const, operator_id: issued.session.subject.operatorId },
  };
}
