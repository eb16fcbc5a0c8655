import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBillingGateway, createStores } from '../../functions/api/wiring/deps';
import { freePort } from '../../local/dynamodb';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { setupBilling } from '../../shared/billing/setup';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { FakeStripe } from '../support/fake-stripe';
import { type Browser, browser, shot } from './browser';

// Only the model the journeys call.
process.env.RUNTIME_MODELS = 'sentiment';

const OPERATOR = { email: 'ops@plans.example', password: 'operator password 1' };

interface Journey {
  stack: LocalStack;
  /** Where the browser goes: PUBLIC_URL, so Checkout's return lands on the same origin. */
  base: string;
  token: string;
  api: (path: string, init?: { method?: string; json?: unknown; token?: string }) => Promise<Response>;
}

/** A stack on a port chosen up front, so PUBLIC_URL (Checkout's way back) is the browser's origin. */
async function startStack(stage: string, env: Record<string, string> = {}): Promise<Journey> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const stack = await startLocalStack(
    loadConfig({
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: base,
      TOLLGATE_IN_MEMORY: 'true',
      STAGE: stage,
      LOG_LEVEL: 'silent',
      OPERATOR_EMAIL: OPERATOR.email,
      OPERATOR_PASSWORD: OPERATOR.password,
      ...env,
    }),
    createLogger('silent'),
    { print: () => {} },
  );
  for (let i = 0; i < 240 && (await fetch(`${base}/health`)).status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 500));
  }
  const j: Journey = {
    stack,
    base,
    token: '',
    api: (path, init = {}) => {
      const token = init.token ?? j.token;
      return fetch(`${base}${path}`, {
        method: init.method ?? (init.json !== undefined ? 'POST' : 'GET'),
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
      });
    },
  };
  return j;
}

/** A developer who signed up and verified through the API (the sign-up journey is consoles.test.ts's). */
async function developer(j: Journey, email: string, password: string): Promise<{ tenantId: string }> {
  const signup = await j.api('/auth/signup', { json: { email, password, name: 'Dev', company: 'Plans Co' } });
  expect(signup.status, await signup.clone().text()).toBe(202);
  const mail = j.stack.outbox.latest(email, 'verify_email')!.text;
  const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail)![1];
  expect((await j.api('/auth/verify', { json: { token } })).status).toBe(200);
  const login = await j.api('/auth/login', { json: { email, password } });
  const body = (await login.json()) as { access_token: string; subject: { tenant_id: string } };
  j.token = body.access_token;
  return { tenantId: body.subject.tenant_id };
}

async function logIn(page: Page, j: Journey, email: string, password: string): Promise<void> {
  await page.goto(`${j.base}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/overview$/);
}

/** The column header of the plan the page marks as current. */
const currentPlan = (page: Page) => page.locator('th[aria-current="true"]');

async function operatorToken(j: Journey): Promise<string> {
  const login = await j.api('/auth/login', { json: OPERATOR, token: '' });
  return ((await login.json()) as { access_token: string }).access_token;
}

describe('plans in the console, ledger-only', () => {
  const DEV = { email: 'ada@plans.example', password: 'a ledger of passwords' };
  let j: Journey;
  let chrome: Browser;
  let page: Page;
  let problems: string[];
  let secret = '';

  beforeAll(async () => {
    j = await startStack('e2eplansledger');
    const { tenantId } = await developer(j, DEV.email, DEV.password);
    // Free's included input tokens cut to none: the hard stop is reached at once.
    const op = await operatorToken(j);
    const limited = await j.api(`/admin/tenants/${tenantId}/limits`, {
      method: 'PATCH',
      json: { included: { input_tokens: 0 } },
      token: op,
    });
    expect(limited.status, await limited.clone().text()).toBe(200);
    const key = await j.api('/account/keys', { json: { name: 'app' } });
    secret = ((await key.json()) as { secret: string }).secret;
    chrome = browser();
    ({ page, problems } = await chrome.open());
  });

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail' && page)
      await shot(page, `failed-plans-ledger-${task.name.slice(0, 40)}`);
  });

  afterAll(async () => {
    await chrome?.close();
    await j?.stack.stop();
  });

  const sentiment = () =>
    fetch(`${j.base}/v1/text/sentiment`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sentiment', input: 'a fine day, truly a fine day' }),
    });

  it('a Free developer at the hard stop is told where to upgrade, compares plans and upgrades at once', async () => {
    await sentiment();
    const refused = await sentiment();
    expect(refused.status).toBe(429);
    const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('quota_exceeded');
    expect(error.message).toContain(`${j.base}/plans`);

    await logIn(page, j, DEV.email, DEV.password);
    // The overview says the included units are used up, with the way out.
    const upgrade = page.getByRole('link', { name: 'Upgrade to keep going' });
    await upgrade.waitFor();
    await shot(page, 'plans-overview-stopped');
    await upgrade.click();
    await page.waitForURL(/\/plans$/);
    await page.getByRole('heading', { name: 'Compare plans' }).waitFor();
    expect(await currentPlan(page).textContent()).toContain('Free');
    const table = page.locator('table.plans-table');
    await table.getByText('Refused (429 quota_exceeded) until the month ends').waitFor();
    await table.getByText(/up to a \$100\.00 monthly spend cap/).waitFor();
    expect(await table.getByRole('columnheader').allTextContents()).not.toContain('Enterprise');
    await shot(page, 'plans-compare');

    await page.getByRole('button', { name: 'Upgrade to Pay as you go' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(/limits apply from your next request/).waitFor();
    await dialog.getByRole('button', { name: 'Upgrade to Pay as you go' }).click();
    await page
      .getByText('You are on Pay as you go now: its limits apply from your next request.')
      .first()
      .waitFor();
    await page.locator('th[aria-current="true"]', { hasText: 'Pay as you go' }).waitFor();
    expect((await sentiment()).status).toBe(200);
    expect(problems).toEqual([]);
  });
});

describe('plans in the console, with Stripe (the fake, its hosted Checkout page and webhooks)', () => {
  const DEV = { email: 'grace@plans.example', password: 'a stripe of passwords' };
  let fake: FakeStripe;
  let j: Journey;
  let chrome: Browser;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    fake = await FakeStripe.start();
    j = await startStack('e2eplansstripe', fake.env());
    // billing:setup against the stack's DynamoDB: meters, products and prices from the catalog.
    const config = loadConfig({
      ...fake.env(),
      DYNAMODB_ENDPOINT: j.stack.dynamoEndpoint,
      STAGE: 'e2eplansstripe',
      LOG_LEVEL: 'silent',
    });
    const stores = createStores(config);
    const report = await setupBilling({
      gateway: createBillingGateway(config),
      store: stores.billing,
      catalog: await stores.catalog.load(),
      now: () => new Date(),
    });
    stores.dynamo.client.destroy();
    expect(report.problems).toEqual([]);
    fake.deliverWebhooksTo(`${j.base}/webhooks/stripe`);
    await developer(j, DEV.email, DEV.password);
    chrome = browser();
    ({ page, problems } = await chrome.open());
  });

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail' && page)
      await shot(page, `failed-plans-stripe-${task.name.slice(0, 40)}`);
  });

  afterAll(async () => {
    await chrome?.close();
    await j?.stack.stop();
    await fake?.stop();
  });

  const plansNow = async () =>
    (await (await j.api('/account/billing/plans')).json()) as {
      current_plan: string;
      subscription: { plan: string | null; ends_at_period_end: boolean } | null;
    };

  it("upgrades through Stripe Checkout's page and comes back to the new plan", async () => {
    await logIn(page, j, DEV.email, DEV.password);
    await page.goto(`${j.base}/billing`);
    await page.getByRole('link', { name: 'Upgrade' }).click();
    await page.waitForURL(/\/plans$/);
    await page.getByRole('button', { name: 'Upgrade to Pay as you go' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(/add a card at Stripe Checkout/).waitFor();
    await dialog.getByRole('button', { name: 'Upgrade to Pay as you go' }).click();
    // The fake's hosted Checkout page.
    await page.waitForURL((u) => u.toString().startsWith(`${fake.url}/checkout/pay/`));
    await page.getByRole('heading', { name: 'Checkout (test mode)' }).waitFor();
    await shot(page, 'plans-stripe-checkout');
    await page.getByRole('button', { name: 'Pay' }).click();
    await page.waitForURL(/\/plans\?checkout=success$/);
    await page.getByText('You are on Pay as you go now.').waitFor();
    await page.locator('th[aria-current="true"]', { hasText: 'Pay as you go' }).waitFor();
    await shot(page, 'plans-stripe-upgraded');
    expect(await plansNow()).toMatchObject({
      current_plan: 'payg',
      subscription: { plan: 'payg', ends_at_period_end: false },
    });
    expect(fake.deliveries.filter((d) => d.type === 'checkout.session.completed')).toEqual([
      expect.objectContaining({ status: 200 }),
    ]);
    expect(problems).toEqual([]);
  });

  it("downgrades to Free: Free's limits now, the subscription ends at the month's end", async () => {
    await page.getByRole('button', { name: 'Downgrade to Free' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(/Your Stripe subscription ends at the end of the month/).waitFor();
    await dialog.getByRole('button', { name: 'Downgrade to Free' }).click();
    await page
      .getByText(/You are on Free now/)
      .first()
      .waitFor();
    await page.locator('th[aria-current="true"]', { hasText: 'Free' }).waitFor();
    await page.getByText(/Choosing a paid plan again keeps it going/).waitFor();
    await shot(page, 'plans-stripe-downgraded');
    expect(await plansNow()).toMatchObject({
      current_plan: 'free',
      subscription: { plan: 'payg', ends_at_period_end: true },
    });
    const [subscription] = [...fake.subscriptions.values()];
    expect(subscription).toMatchObject({ status: 'active', cancel_at_period_end: true });
    expect(fake.subscriptions.size).toBe(1);
    // Stripe's echo of the change reached the platform and changed nothing more.
    await fake.webhooksDelivered();
    const updated = fake.deliveries.filter((d) => d.type === 'customer.subscription.updated');
    expect(updated.length).toBeGreaterThan(0);
    expect(updated.every((d) => d.status === 200)).toBe(true);
    expect((await plansNow()).current_plan).toBe('free');
    expect(problems).toEqual([]);
  });

  it('changes its mind before the month ends: the same subscription goes on, no second Checkout', async () => {
    await page.getByRole('button', { name: 'Upgrade to Pay as you go' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(/goes on instead of ending this month/).waitFor();
    await dialog.getByRole('button', { name: 'Upgrade to Pay as you go' }).click();
    await page
      .getByText('You are on Pay as you go now: its limits apply from your next request.')
      .first()
      .waitFor();
    expect(page.url()).toMatch(/\/plans/);
    expect(await plansNow()).toMatchObject({
      current_plan: 'payg',
      subscription: { plan: 'payg', ends_at_period_end: false },
    });
    expect(fake.subscriptions.size).toBe(1);
    expect([...fake.subscriptions.values()][0]).toMatchObject({
      status: 'active',
      cancel_at_period_end: false,
    });
    expect(fake.sessions.size).toBe(1);
    expect(problems).toEqual([]);
  });
});
