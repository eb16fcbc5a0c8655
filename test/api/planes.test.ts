import type { OpenAPIHono } from '@hono/zod-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingPlaneDeps } from '#api/wiring/billing-deps';
import { createConsolePlaneDeps } from '#api/wiring/console-deps';
import { createDataPlaneDeps } from '#api/wiring/data-deps';
import { createDocsPlaneDeps } from '#api/wiring/docs-deps';
import { createPlaneApp } from '../../functions/api/plane-app';
import { registerBillingPlane } from '../../functions/api/planes/billing';
import { registerConsolePlane } from '../../functions/api/planes/console';
import { registerDataPlane } from '../../functions/api/planes/data';
import { registerDocsPlane } from '../../functions/api/planes/docs';
import { createLogger } from '../../shared/logger';
import { expectError, json, newOwner, type TestUser } from '../support/accounts';
import { billingHarness } from '../support/billing';
import type { FakeStripe } from '../support/fake-stripe';
import type { Harness } from '../support/harness';

/**
 * Each plane as its Lambda entry wires it (its own deps builder, its own routes only), over the
 * harness's tables: what a function serves works with only its own adapters, and what it does not
 * serve is a JSON 404 there (API Gateway routes it to another function).
 */
let h: Harness;
let fake: FakeStripe;
let owner: TestUser;
let key: string;
const planes = {} as Record<'data' | 'console' | 'billing' | 'docs', Pick<OpenAPIHono, 'request'>>;

beforeAll(async () => {
  ({ h, fake } = await billingHarness());
  const log = createLogger('silent');
  const edge = { stores: h.stores, clientIp: () => '192.0.2.7' };
  const sessions = { ...edge, email: h.outbox, signingKeys: h.signingKeys };
  planes.data = createPlaneApp(
    createDataPlaneDeps(h.config, log, { ...edge, email: h.outbox }),
    registerDataPlane,
  );
  planes.console = createPlaneApp(createConsolePlaneDeps(h.config, log, sessions), registerConsolePlane);
  planes.billing = createPlaneApp(createBillingPlaneDeps(h.config, log, sessions), registerBillingPlane);
  planes.docs = createPlaneApp(createDocsPlaneDeps(h.config, log, edge), registerDocsPlane);
  owner = await newOwner(h);
  ({ key } = await h.newTenant());
});
afterAll(async () => {
  await fake.stop();
});

function call(
  plane: keyof typeof planes,
  path: string,
  init: { method?: string; token?: string; json?: unknown } = {},
) {
  const headers: Record<string, string> = {};
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  return planes[plane].request(path, {
    method: init.method ?? (init.json !== undefined ? 'POST' : 'GET'),
    headers,
    body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
  });
}

describe('the data plane alone', () => {
  it('calls a model and meters it with no Stripe and no session keys wired', async () => {
    const res = await call('data', '/v1/text/sentiment', {
      token: key,
      json: { model: 'sentiment', input: ['I love it'] },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await json<{ usage: { total_tokens: number } }>(res)).usage.total_tokens).toBeGreaterThan(0);
    const usage = await call('data', '/v1/usage', { token: key });
    expect(usage.status, await usage.clone().text()).toBe(200);
  });

  it('serves nothing of the other planes', async () => {
    await expectError(await call('data', '/account', { token: owner.token }), 404, 'not_found');
    await expectError(
      await call('data', '/auth/login', { json: { email: owner.email, password: owner.password } }),
      404,
      'not_found',
    );
    await expectError(await call('data', '/openapi.json'), 404, 'not_found');
  });
});

describe('the console plane alone', () => {
  it('logs in and serves the account with no model client and no billing gateway wired', async () => {
    const login = await call('console', '/auth/login', {
      json: { email: owner.email, password: owner.password },
    });
    expect(login.status, await login.clone().text()).toBe(200);
    const { access_token } = await json<{ access_token: string }>(login);
    const account = await call('console', '/account', { token: access_token });
    expect(account.status, await account.clone().text()).toBe(200);
    const keys = await call('console', '/account/keys', { token: access_token });
    expect(keys.status).toBe(200);
  });

  it('leaves billing and /v1 to their planes', async () => {
    await expectError(await call('console', '/account/billing', { token: owner.token }), 404, 'not_found');
    await expectError(await call('console', '/v1/models', { token: key }), 404, 'not_found');
  });
});

describe('the billing plane alone', () => {
  it('answers /account/billing and Checkout behind a session, through Stripe', async () => {
    const billing = await call('billing', '/account/billing', { token: owner.token });
    expect(billing.status, await billing.clone().text()).toBe(200);
    const checkout = await call('billing', '/account/billing/checkout', {
      token: owner.token,
      method: 'POST',
    });
    expect(checkout.status, await checkout.clone().text()).toBe(201);
    await expectError(await call('billing', '/account/billing'), 401, 'missing_credentials');
  });

  it("verifies Stripe's webhook", async () => {
    const event = fake.event('customer.created', { id: 'cus_x', object: 'customer', metadata: {} });
    const body = JSON.stringify(event);
    const res = await planes.billing.request('/webhooks/stripe', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': fake.sign(body) },
      body,
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const forged = await planes.billing.request('/webhooks/stripe', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
      body,
    });
    expect(forged.status).toBe(400);
  });

  it('serves nothing else', async () => {
    await expectError(await call('billing', '/account', { token: owner.token }), 404, 'not_found');
    await expectError(await call('billing', '/v1/models', { token: key }), 404, 'not_found');
  });
});

describe('the docs plane alone', () => {
  it("documents every plane's operations, as the whole app does", async () => {
    const own = await json<{ paths: Record<string, unknown> }>(await call('docs', '/openapi.json'));
    const whole = await json<{ paths: Record<string, unknown> }>(await h.call('/openapi.json'));
    expect(Object.keys(own.paths).sort()).toEqual(Object.keys(whole.paths).sort());
    for (const path of ['/v1/chat/completions', '/auth/login', '/account/billing', '/webhooks/stripe']) {
      expect(own.paths).toHaveProperty([path]);
    }
    expect((await call('docs', '/docs')).status).toBe(200);
    await expectError(await call('docs', '/v1/models', { token: key }), 404, 'not_found');
  });
});
