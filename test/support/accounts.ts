import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { startSession } from '../../shared/accounts/login';
import { createOperator } from '../../shared/accounts/operators';
import type { TenantRole } from '../../shared/accounts/roles';
import type { Harness } from './harness';

/** A logged-in tenant user, as a test holds one. */
export interface TestUser {
  email: string;
  password: string;
  tenantId: string;
  userId: string;
  /** The access token (send as `key` to `h.call`). */
  token: string;
  refreshToken: string;
  sessionId: string;
  /** The `cookie` header a browser would send. */
  cookie: string;
}

export interface TestOperator {
  email: string;
  password: string;
  operatorId: string;
  token: string;
  sessionId: string;
}

export const PASSWORD = 'a long enough password';

/** A fresh, unique address. */
export function newEmail(tag = 'user'): string {
  return `${tag}-${randomBytes(5).toString('hex')}@example.com`;
}

/** The token in the newest email of a kind to an address. */
export function tokenFrom(
  h: Harness,
  email: string,
  kind: 'verify_email' | 'reset_password' | 'invitation',
): string {
  const message = h.outbox.latest(email, kind);
  expect(message, `no ${kind} email to ${email}`).toBeDefined();
  const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(message!.text)?.[1];
  expect(token).toBeDefined();
  return token!;
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** The `cookie` header for the Set-Cookie lines of a response. */
export function cookieHeader(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

export async function login(h: Harness, email: string, password: string) {
  const res = await h.call('/auth/login', { json: { email, password } });
  expect(res.status, await res.clone().text()).toBe(200);
  const body = await json<{
    access_token: string;
    refresh_token: string;
    session_id: string;
    subject: { user_id?: string; tenant_id?: string; operator_id?: string };
  }>(res);
  return { body, cookie: cookieHeader(res) };
}

/** Signs up through the API, verifies through the emailed token, logs in. */
export async function newOwner(
  h: Harness,
  opts: { company?: string; email?: string } = {},
): Promise<TestUser> {
  const email = opts.email ?? newEmail('owner');
  const res = await h.call('/auth/signup', {
    json: { email, password: PASSWORD, name: 'Test Owner', company: opts.company ?? 'Test Co' },
  });
  expect(res.status, await res.clone().text()).toBe(202);
  const verified = await h.call('/auth/verify', { json: { token: tokenFrom(h, email, 'verify_email') } });
  expect(verified.status, await verified.clone().text()).toBe(200);
  const { body, cookie } = await login(h, email, PASSWORD);
  return {
    email,
    password: PASSWORD,
    tenantId: body.subject.tenant_id!,
    userId: body.subject.user_id!,
    token: body.access_token,
    refreshToken: body.refresh_token,
    sessionId: body.session_id,
    cookie,
  };
}

/** Invites a new member with a role into the owner's tenant, accepts, logs them in. */
export async function addMember(h: Harness, owner: TestUser, role: TenantRole): Promise<TestUser> {
  const email = newEmail(role);
  const invited = await h.call('/account/team/invitations', { key: owner.token, json: { email, role } });
  expect(invited.status, await invited.clone().text()).toBe(201);
  const accepted = await h.call('/auth/invitations/accept', {
    json: { token: tokenFrom(h, email, 'invitation'), password: PASSWORD, name: `A ${role}` },
  });
  expect(accepted.status, await accepted.clone().text()).toBe(201);
  const { body, cookie } = await login(h, email, PASSWORD);
  return {
    email,
    password: PASSWORD,
    tenantId: body.subject.tenant_id!,
    userId: body.subject.user_id!,
    token: body.access_token,
    refreshToken: body.refresh_token,
    sessionId: body.session_id,
    cookie,
  };
}

/** Creates an operator the way the CLI does, and logs in through the same door as users. */
export async function newOperator(h: Harness): Promise<TestOperator> {
  const email = newEmail('operator');
  const made = await createOperator(
    { operators: h.stores.operators, audit: h.stores.audit, now: h.deps.now },
    { email, password: PASSWORD, actor: { kind: 'system', id: 'test' } },
  );
  expect(made.status).toBe('created');
  const { body } = await login(h, email, PASSWORD);
  return {
    email,
    password: PASSWORD,
    operatorId: body.subject.operator_id!,
    token: body.access_token,
    sessionId: body.session_id,
  };
}

/** Creates an API key through the API and returns its id and secret. */
export async function createKey(
  h: Harness,
  user: TestUser,
  body: Record<string, unknown> = { name: 'test' },
) {
  const res = await h.call('/account/keys', { key: user.token, json: body });
  expect(res.status, await res.clone().text()).toBe(201);
  return json<{ id: string; secret: string; prefix: string }>(res);
}

export async function expectError(res: Response, status: number, code: string, param?: string | null) {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  const body = JSON.parse(text) as { error: { code: string; param: string | null; message: string } };
  expect(body.error.code).toBe(code);
  if (param !== undefined) expect(body.error.param).toBe(param);
  return body.error;
}

/** A fresh access token for a user (no password check), e.g. after a test moved the clock on. */
export async function refreshed(h: Harness, user: TestUser): Promise<TestUser> {
  const issued = await startSession(h.deps.accounts, {
    kind: 'user',
    userId: user.userId,
    tenantId: user.tenantId,
  });
  return {
    ...user,
    token: issued.accessToken,
    refreshToken: issued.refreshToken,
    sessionId: issued.session.id,
  };
}
