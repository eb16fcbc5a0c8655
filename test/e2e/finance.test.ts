import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { type Browser, browser, shot } from './browser';

process.env.RUNTIME_MODELS = 'sentiment';

const OPERATOR = { email: 'ops@finance.example', password: 'operator password 1' };
const OWNER = {
  email: 'owner@finance.example',
  password: 'a long finance password',
  name: 'Ada',
  company: 'Ledgers',
};

/**
 * The operators' Finance page in Debian's Chromium against the local stack (ledger-only): credit
 * granted through the API shows on the page as the API's totals say, with the receivables labelled
 * as the invoice previews that stand in for invoices.
 */
describe('the finance page, in a real browser', () => {
  let stack: LocalStack;
  let chrome: Browser;
  let ops: { page: Page; problems: string[] };
  let token = '';

  const api = (path: string, init: { method?: string; json?: unknown; token?: string } = {}) =>
    fetch(`${stack.url}${path}`, {
      method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.json === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    });

  beforeAll(async () => {
    stack = await startLocalStack(
      loadConfig({
        PORT: '0',
        TOLLGATE_IN_MEMORY: 'true',
        STAGE: 'e2efinance',
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
    token = ((await (await api('/auth/login', { json: OPERATOR })).json()) as { access_token: string })
      .access_token;
    chrome = browser();
    ops = await chrome.open();
  });

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail' && ops) await shot(ops.page, 'failed-finance').catch(() => {});
  });

  afterAll(async () => {
    await chrome?.close();
    await stack?.stop();
  });

  it('shows the credit sold as the API reports it, and says what stands in for invoices', async () => {
    expect((await api('/auth/signup', { json: OWNER })).status).toBe(202);
    const mail = (await (
      await fetch(`${stack.url}/_local/outbox?to=${encodeURIComponent(OWNER.email)}`)
    ).json()) as {
      data: { text: string }[];
    };
    const verifyToken = /token=([\w.-]+)/.exec(mail.data.map((m) => m.text).join('\n'))?.[1];
    expect(verifyToken).toBeTruthy();
    expect((await api('/auth/verify', { json: { token: verifyToken } })).status).toBe(200);
    const login = (await (await api('/auth/login', { json: OWNER })).json()) as {
      subject: { tenant_id: string };
    };
    const tenantId = login.subject.tenant_id;
    for (const [kind, amount] of [
      ['paid', '7.50'],
      ['promotional', '2.00'],
    ] as const) {
      const res = await api(`/admin/tenants/${tenantId}/credits`, {
        token,
        json: { kind, amount_usd: amount, expires_at: '2099-01-01T00:00:00Z' },
      });
      expect(res.status, await res.clone().text()).toBe(201);
    }
    const report = (await (await api('/admin/finance', { token })).json()) as {
      credit: { sold_usd: { paid: string; promotional: string; total: string } };
    };
    // A trial granted at verification (if the plan has one) is trial credit: paid and promotional are ours.
    expect(report.credit.sold_usd).toMatchObject({ paid: '7.500000000', promotional: '2.000000000' });

    const { page } = ops;
    await page.goto(`${stack.url}/login`);
    await page.getByLabel('Email').fill(OPERATOR.email);
    await page.getByLabel('Password').fill(OPERATOR.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/operator$/);
    await page.getByRole('link', { name: 'Finance' }).first().click();
    await page.getByRole('heading', { name: 'Receivables (invoice previews)' }).waitFor();
    const sold = page.getByTestId('finance-credit').getByRole('row', { name: /Sold or given/ });
    await sold.waitFor();
    const money = (usd: string) => `$${Number(usd).toFixed(2)}`;
    const cells = await sold.getByRole('cell').allTextContents();
    expect(cells).toEqual([
      money(report.credit.sold_usd.paid),
      money(report.credit.sold_usd.promotional),
      expect.any(String),
      money(report.credit.sold_usd.total),
    ]);
    expect(await page.getByTestId('finance-receivables').textContent()).toMatch(/Ledger-only billing/);
    await shot(page, 'finance-01');
  });
});
