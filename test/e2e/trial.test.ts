import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { type Browser, browser, shot } from './browser';

// The stack's model runtime inherits this: the one cheap model the journey calls.
process.env.RUNTIME_MODELS = 'sentiment';

const OPERATOR = { email: 'ops@trial.example', password: 'operator password 1' };
const DEV = {
  name: 'Grace Hopper',
  company: 'Compilers',
  email: 'grace@trial.example',
  password: 'a long trial password',
};
/** A trial this small runs out after a handful of sentiment calls. */
const TRIAL_USD = '0.00002';

interface OutboxMessage {
  kind: string;
  subject: string;
  text: string;
}

/**
 * A trial in Debian's Chromium against the local stack (ledger-only): the operator gives the Free
 * plan a tiny trial through the API, a new developer signs up and verifies through the outbox
 * link, sees the trial credit on the billing page, calls with a key until the credit is used up,
 * reads on the billing page why calls are refused, and finds the one exhaustion email.
 */
describe('a free trial, in a real browser', () => {
  let stack: LocalStack;
  let chrome: Browser;
  let dev: { page: Page; problems: string[] };
  let operatorToken = '';
  let secret = '';

  const go = (page: Page, path: string) => page.goto(`${stack.url}${path}`);
  const outbox = async (to: string) =>
    (
      (await (await fetch(`${stack.url}/_local/outbox?to=${encodeURIComponent(to)}`)).json()) as {
        data: OutboxMessage[];
      }
    ).data;
  const sentiment = (input: string) =>
    fetch(`${stack.url}/v1/text/sentiment`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sentiment', input }),
    });

  beforeAll(async () => {
    stack = await startLocalStack(
      loadConfig({
        PORT: '0',
        TOLLGATE_IN_MEMORY: 'true',
        STAGE: 'e2etrial',
        OPERATOR_EMAIL: OPERATOR.email,
        OPERATOR_PASSWORD: OPERATOR.password,
        LOG_LEVEL: 'silent',
      }),
      createLogger('silent'),
      { print: () => {} },
    );
    for (let i = 0; i < 240 && (await fetch(`${stack.url}/health`)).status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 500));
    }
    const login = await fetch(`${stack.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(OPERATOR),
    });
    operatorToken = ((await login.json()) as { access_token: string }).access_token;
    chrome = browser();
    dev = await chrome.open();
  });

  afterEach(async ({ task }) => {
    if (task.result?.state !== 'fail') return;
    const name = task.name.replace(/\W+/g, '-').slice(0, 60);
    if (dev) await shot(dev.page, `failed-trial-${name}`).catch(() => {});
  });

  afterAll(async () => {
    await chrome?.close();
    await stack?.stop();
  });

  it('the operator gives the Free plan a tiny trial', async () => {
    const res = await fetch(`${stack.url}/admin/plans/free`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ trial_usd: TRIAL_USD, trial_days: 7 }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ trial_usd: '0.000020000', trial_days: 7 });
  });

  it('a new developer signs up, verifies through the outbox link and sees the trial credit', async () => {
    const { page } = dev;
    await go(page, '/signup');
    await page.getByLabel('Your name').fill(DEV.name);
    await page.getByLabel('Company or team').fill(DEV.company);
    await page.getByLabel('Email').fill(DEV.email);
    await page.getByLabel('Password').fill(DEV.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    const link = page.getByRole('link', { name: 'Open the link from the email' });
    await link.waitFor();
    await link.click();
    await page.getByRole('button', { name: 'Verify my email' }).click();
    await page.getByRole('heading', { name: 'Email verified' }).waitFor();
    await page.getByRole('link', { name: 'Log in' }).first().click();
    await page.getByLabel('Email').fill(DEV.email);
    await page.getByLabel('Password').fill(DEV.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/overview$/);

    await go(page, '/billing');
    const card = page.getByTestId('trial-card');
    await card.waitFor();
    const line = card.getByTestId('trial-line');
    await line.waitFor();
    expect(await line.textContent()).toMatch(/Trial credit: \$0\.00002 left of \$0\.00002, valid until/);
    expect(await card.textContent()).toContain('Free-only is on');
    expect(await card.getByTestId('trial-exhausted').count()).toBe(0);
    await shot(page, 'trial-01-credit');
  });

  it('calls until the trial is used up: 429 insufficient_balance, explained on the billing page, one email', async () => {
    const { page } = dev;
    // A key, through the console.
    await go(page, '/keys');
    await page.getByText('No API keys yet').waitFor();
    await page.getByRole('button', { name: 'Create key' }).first().click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('trial');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const box = dialog.getByLabel('API key secret');
    await box.waitFor();
    secret = await box.inputValue();
    expect(secret).toMatch(/^tg_live_/);

    let refused: Response | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      const res = await sentiment(`call number ${i} on a trial`);
      if (res.status === 429) refused = res;
      else expect(res.status).toBe(200);
    }
    expect(refused, 'the trial never ran out').toBeDefined();
    expect(refused!.headers.get('x-should-retry')).toBe('false');
    const body = (await refused!.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('insufficient_balance');
    expect(body.error.message).toMatch(/free credit has run out/);
    // More refusals: still one email.
    for (let i = 0; i < 5; i++) expect((await sentiment('again')).status).toBe(429);

    await go(page, '/billing');
    const exhausted = page.getByTestId('trial-exhausted');
    await exhausted.waitFor();
    const text = await exhausted.textContent();
    expect(text).toMatch(/Your free credit ran out/);
    expect(text).toContain('429 insufficient_balance');
    expect(text).toMatch(/top up credit \(spent at once\), or turn free-only off below and then add a card/);
    await shot(page, 'trial-02-exhausted');

    const mails = (await outbox(DEV.email)).filter((m) => m.kind === 'trial_exhausted');
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toMatch(/free credit is used up/);
    expect(mails[0]!.text).toMatch(/top up credit/);
  });
});
