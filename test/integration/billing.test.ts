import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStores } from '#api/wiring/deps';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { loadConfig } from '../../shared/config';
import { keys } from '../../shared/db/keys';
import { createLogger } from '../../shared/logger';
import { FakeStripe } from '../support/fake-stripe';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSX = join(REPO, 'node_modules', '.bin', 'tsx');
const PASSWORD = 'a long enough password';

interface Body {
  [field: string]: unknown;
  data: { text: string; input_tokens: number }[];
  access_token: string;
  tenant_id: string;
  secret: string;
  id: string;
  url: string;
  status: string;
  totals: { input_tokens: number };
}

describe('billing on the local stack, with a Stripe stand-in', () => {
  let fake: FakeStripe;
  let stack: LocalStack;
  let stripeEnv: Record<string, string>;

  const call = async (
    path: string,
    opts: {
      method?: string;
      token?: string;
      json?: unknown;
      headers?: Record<string, string>;
      body?: string;
    } = {},
  ) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${stack.url}${path}`, {
      method: opts.method ?? (opts.json !== undefined || opts.body !== undefined ? 'POST' : 'GET'),
      headers,
      body: opts.json !== undefined ? JSON.stringify(opts.json) : opts.body,
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Body, headers: res.headers };
  };

  const setup = () =>
    run(TSX, ['local/billing-setup.ts'], {
      cwd: REPO,
      env: {
        ...process.env,
        ...stripeEnv,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        DYNAMODB_ENDPOINT: stack.dynamoEndpoint,
        STAGE: stack.config.STAGE,
      },
    });

  const webhook = async (event: Record<string, unknown>) => {
    const body = JSON.stringify(event);
    return call('/webhooks/stripe', {
      body,
      headers: { 'content-type': 'application/json', 'stripe-signature': fake.sign(body) },
    });
  };

  beforeAll(async () => {
    fake = await FakeStripe.start();
    stripeEnv = fake.env();
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    stack = await startLocalStack(
      loadConfig({ PORT: '0', TOLLGATE_IN_MEMORY: 'true', ...stripeEnv }),
      createLogger('info', sink),
      { print: () => {} },
    );
  });

  afterAll(async () => {
    await stack?.stop();
    await fake?.stop();
  });

  it('`npm run billing:setup` makes one meter and price per model version and unit, idempotently', async () => {
    const first = await setup();
    expect(first.stdout).toContain('Chat tiny-1 — output tokens');
    expect(first.stdout).toMatch(/meter created, product created, price created/);
    const second = await setup();
    expect(
      second.stdout
        .trim()
        .split('\n')
        .every((l) => l.endsWith('unchanged')),
    ).toBe(true);
    const specs = first.stdout.trim().split('\n').length;
    expect(specs).toBeGreaterThan(5);
    expect(fake.meters.size).toBe(specs);
    expect(fake.prices.size).toBe(specs);
    expect(stack.billing).toBe('stripe');
  });

  it('upgrades through Checkout, sends the ledger to the meters, and follows payment state', async () => {
    const email = 'payer@example.com';
    expect(
      (await call('/auth/signup', { json: { email, password: PASSWORD, company: 'Payer' } })).status,
    ).toBe(202);
    const outbox = await call(`/_local/outbox?to=${encodeURIComponent(email)}`);
    const verifyToken = /token=([\w-]+)/.exec(outbox.body.data[0]!.text)![1]!;
    const tenantId = (await call('/auth/verify', { json: { token: verifyToken } })).body.tenant_id;
    const token = (await call('/auth/login', { json: { email, password: PASSWORD } })).body.access_token;

    const checkout = await call('/account/billing/checkout', { method: 'POST', token });
    expect(checkout.status).toBe(201);
    const session = fake.completeCheckout(checkout.body.id);
    const subscribed = await webhook(
      fake.event('checkout.session.completed', session, Math.floor(Date.now() / 1000) - 5),
    );
    expect(subscribed.body).toMatchObject({ outcome: 'subscribed' });
    expect((await call('/account', { token })).body).toMatchObject({ tenant: { plan: 'payg' } });

    // Nothing included, so every token is billable and the comparison is to the unit.
    const stores = createStores(stack.config);
    try {
      await stores.dynamo.doc.send(
        new UpdateCommand({
          TableName: stores.billing.table,
          Key: keys.tenant(tenantId),
          UpdateExpression: 'SET limitOverrides = :o',
          ExpressionAttributeValues: { ':o': { included: { input_tokens: 0 } } },
        }),
      );
    } finally {
      stores.dynamo.client.destroy();
    }

    const key = (await call('/account/keys', { token, json: { name: 'billing' } })).body.secret;
    for (const input of ['I love it', 'The food was not good.', 'Fine, I guess, on the whole.']) {
      const res = await call('/v1/text/sentiment', { token: key, json: { model: 'sentiment', input } });
      expect(res.status).toBe(200);
    }
    // The usage report reads the aggregates, which follow the ledger through the stream consumer.
    await stack.drainUsage();
    const usage = await call('/v1/usage', { token: key });
    const tokens = usage.body.totals.input_tokens;
    expect(tokens).toBeGreaterThan(0);

    // Two hours on, the hour is closed: the sync sends it.
    const result = await stack.runBillingSync(new Date(Date.now() + 2 * 3_600_000));
    expect(result.problems).toEqual([]);
    expect(fake.meterTotals(session.customer as string).get('tg_sentiment_v1_input_tokens')).toBe(tokens);

    const billing = await call('/account/billing', { token });
    expect(billing.body).toMatchObject({ connected: true, status: 'active' });

    const invoice = { id: 'in_1', object: 'invoice', customer: session.customer };
    expect((await webhook(fake.event('invoice.payment_failed', invoice))).body).toMatchObject({
      outcome: 'past_due',
    });
    // The key cache holds the tenant up to AUTH_CACHE_TTL_MS (5 s) on other paths; this instance evicted it.
    const warned = await call('/v1/text/sentiment', {
      token: key,
      json: { model: 'sentiment', input: 'ok' },
    });
    expect(warned.status).toBe(200);
    expect(warned.headers.get('x-tollgate-warning')).toMatch(/payment past due/);
    expect((await webhook(fake.event('invoice.paid', { ...invoice, id: 'in_2' }))).body).toMatchObject({
      outcome: 'active',
    });
    const clean = await call('/v1/text/sentiment', { token: key, json: { model: 'sentiment', input: 'ok' } });
    expect(clean.headers.get('x-tollgate-warning')).toBeNull();
  });
});
