import { createServer } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { FakeStripe } from '../support/fake-stripe';
import { type Browser, browser, shot } from './browser';

const OPERATOR = { email: 'ops@credits.example', password: 'operator password 1' };
const DEV = { email: 'grace@credits.example', password: 'correct horse battery' };

/** What the steps below read of the API's answers. */
interface Body {
  data: { text: string }[];
  tenant_id: string;
  access_token: string;
}

/** A free port, so that PUBLIC_URL (where Checkout returns) is the very origin the browser is on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * Prepaid credit in Debian's Chromium against the local stack connected to the fake Stripe (its
 * signed webhooks delivered to the stack's /webhooks/stripe): a developer tops up on the Credits
 * page through the hosted Checkout and sees the balance; turns auto-recharge on, sees the billing
 * job recharge when the balance is below the threshold, and then sees a declined recharge.
 */
describe('credits in a real browser, paid through Stripe Checkout', () => {
  let fake: FakeStripe;
  let stack: LocalStack;
  let chrome: Browser;
  let dev: { page: Page; problems: string[] };
  let tenantId = '';

  const api = async (path: string, opts: { token?: string; json?: unknown; method?: string } = {}) => {
    const res = await fetch(`${stack.url}${path}`, {
      method: opts.method ?? (opts.json === undefined ? 'GET' : 'POST'),
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.json === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
    });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Body };
  };

  beforeAll(async () => {
    fake = await FakeStripe.start();
    const port = await freePort();
    stack = await startLocalStack(
      loadConfig({
        PORT: String(port),
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        TOLLGATE_IN_MEMORY: 'true',
        OPERATOR_EMAIL: OPERATOR.email,
        OPERATOR_PASSWORD: OPERATOR.password,
        LOG_LEVEL: 'silent',
        ...fake.env(),
        // The billing job runs when the test says (stack.runBillingSync), not on its timer.
        BILLING_SYNC_MS: '3600000',
      }),
      createLogger('silent'),
      { print: () => {} },
    );
    fake.deliverWebhooksTo(`${stack.url}/webhooks/stripe`);

    // A verified developer whose account the operator made prepaid, with no credit yet.
    expect((await api('/auth/signup', { json: { ...DEV, company: 'Credit Co' } })).status).toBe(202);
    const mail = await api(`/_local/outbox?to=${encodeURIComponent(DEV.email)}`);
    const token = /token=([\w-]+)/.exec(mail.body.data[0]!.text)![1]!;
    tenantId = (await api('/auth/verify', { json: { token } })).body.tenant_id;
    const ops = await api('/auth/login', { json: OPERATOR });
    const prepaid = await api(`/admin/tenants/${tenantId}/credits`, {
      method: 'PATCH',
      token: ops.body.access_token,
      json: { billing_mode: 'prepaid' },
    });
    expect(prepaid.status).toBe(200);

    chrome = browser();
    dev = await chrome.open();
  });

  afterEach(async ({ task }) => {
    if (task.result?.state !== 'fail' || !dev) return;
    await shot(dev.page, `failed-credits-${task.name.replace(/\W+/g, '-').slice(0, 60)}`).catch(() => {});
  });

  afterAll(async () => {
    await chrome?.close();
    await stack?.stop();
    await fake?.stop();
  });

  const balance = (page: Page) => page.getByTestId('balance');

  it('tops up on the Credits page through the hosted Checkout, and the balance shows it', async () => {
    const { page } = dev;
    await page.goto(`${stack.url}/login`);
    await page.getByLabel('Email').fill(DEV.email);
    await page.getByLabel('Password').fill(DEV.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/overview$/);
    await page.getByRole('navigation').getByRole('link', { name: 'Credits', exact: true }).click();
    await page.waitForURL(/\/credits$/);
    await expect.poll(() => balance(page).textContent()).toBe('$0.00');
    await shot(page, 'credits-01-empty');

    await page.getByLabel('Amount (USD)').fill('25.00');
    await page.getByRole('button', { name: 'Top up with Stripe' }).click();
    // Stripe's hosted page (the fake's): pay with the test card, the card saved for auto-recharge.
    await page.waitForURL(new RegExp(`^${fake.url}/checkout/pay/cs_test_`));
    await page.getByText('$25.00').first().waitFor();
    await shot(page, 'credits-02-checkout');
    await page.locator('#pay').click();
    await page.waitForURL(/\/credits\?top_up=success$/);
    await expect.poll(() => balance(page).textContent()).toBe('$25.00');
    await page.getByRole('link', { name: 'Receipt' }).first().waitFor();
    expect(await page.getByRole('link', { name: 'Receipt' }).first().getAttribute('href')).toMatch(
      new RegExp(`^${fake.url}/receipts/ch_`),
    );
    await page.getByText(/Saved card: visa ending 4242/).waitFor();
    await shot(page, 'credits-03-paid');
    expect(dev.problems).toEqual([]);
  });

  it('recharges automatically below the threshold, and shows a declined recharge', async () => {
    const { page } = dev;
    await page.getByLabel('When the balance is below (USD)').fill('30.00');
    await page.getByLabel('Recharge by (USD)').fill('20.00');
    await page.getByLabel('At most, per day').fill('2');
    await page.getByRole('button', { name: 'Turn auto-recharge on' }).click();
    await page.getByText(/^On: below \$30\.00/).waitFor();

    // The billing job (every minute in the cloud) sees $25 < $30 and recharges $20 once.
    const run = await stack.runBillingSync();
    expect(run.recharges).toMatchObject({ succeeded: 1, failed: 0 });
    expect((await stack.runBillingSync()).recharges).toMatchObject({ succeeded: 0 });
    await page.reload();
    await expect.poll(() => balance(page).textContent()).toBe('$45.00');
    await page.getByTestId('recharge-succeeded').waitFor();
    await shot(page, 'credits-04-recharged');

    // The card starts declining; with the threshold raised the next recharge fails, visibly.
    const customer = [...fake.customers.values()].find(
      (c) => (c.metadata as Record<string, string>).tenant_id === tenantId,
    )!;
    fake.declineCard(customer.id as string, 'insufficient_funds');
    await page.getByLabel('When the balance is below (USD)').fill('100.00');
    await page.getByRole('button', { name: 'Save auto-recharge' }).click();
    await page.getByText(/^On: below \$100\.00/).waitFor();
    expect((await stack.runBillingSync()).recharges).toMatchObject({ failed: 1 });
    await page.reload();
    const alert = page.getByTestId('recharge-failed');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/insufficient funds/i);
    expect(await alert.textContent()).toMatch(/off until you turn it on again/);
    await expect.poll(() => balance(page).textContent()).toBe('$45.00');
    await page.getByRole('button', { name: 'Turn auto-recharge on' }).waitFor();
    await shot(page, 'credits-05-declined');
    const mail = stack.outbox.latest(DEV.email, 'auto_recharge_failed');
    expect(mail?.text).toMatch(/\$20\.00/);
    expect(dev.problems).toEqual([]);
  });
});
