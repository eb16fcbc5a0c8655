import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { type Browser, browser, shot } from './browser';

// Only the model the journey calls.
process.env.RUNTIME_MODELS = 'sentiment';

const OWNER = { email: 'lead@budgets.example', password: 'a budget of passwords' };

/**
 * An owner hands a key to a team with an alert-only budget, in Debian's Chromium against the local
 * stack: the key limits dialog names a bad recipient on its row, saves the budget, the key is used
 * past it without a refusal, and the alerts page lists the key's alerts by its name.
 */
describe('per-key budgets in the console', () => {
  let stack: LocalStack;
  let chrome: Browser;
  let page: Awaited<ReturnType<Browser['open']>>['page'];
  let problems: string[];
  let token = '';
  let secret = '';

  const api = async (path: string, init: { method?: string; json?: unknown } = {}) =>
    fetch(`${stack.url}${path}`, {
      method: init.method ?? (init.json !== undefined ? 'POST' : 'GET'),
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
    });

  beforeAll(async () => {
    stack = await startLocalStack(
      loadConfig({ PORT: '0', TOLLGATE_IN_MEMORY: 'true', LOG_LEVEL: 'silent', USAGE_CONSUMER: 'false' }),
      createLogger('silent'),
      { print: () => {} },
    );
    for (let i = 0; i < 240 && (await fetch(`${stack.url}/health`)).status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 500));
    }
    // The owner signs up and verifies through the API (the sign-up journey is consoles.test.ts's).
    expect((await api('/auth/signup', { json: { ...OWNER, name: 'Lead', company: 'Budgets' } })).status).toBe(
      202,
    );
    const verify = stack.outbox.latest(OWNER.email, 'verify_email')!.text;
    const verifyToken = /[?&]token=([A-Za-z0-9_-]+)/.exec(verify)![1];
    expect((await api('/auth/verify', { json: { token: verifyToken } })).status).toBe(200);
    const login = await api('/auth/login', { json: OWNER });
    token = ((await login.json()) as { access_token: string }).access_token;
    const key = await api('/account/keys', { json: { name: 'team-a' } });
    secret = ((await key.json()) as { secret: string }).secret;
    chrome = browser();
    ({ page, problems } = await chrome.open());
  });

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail' && page)
      await shot(page, `failed-key-budgets-${task.name.slice(0, 40)}`);
  });

  afterAll(async () => {
    await chrome?.close();
    await stack?.stop();
  });

  it('sets an alert-only budget on a key: a bad recipient is named on its row, a good budget shows in the list', async () => {
    await page.goto(`${stack.url}/login`);
    await page.getByLabel('Email').fill(OWNER.email);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/overview$/);
    await page.goto(`${stack.url}/keys`);
    await page.getByRole('button', { name: /Edit the limits of team-a/ }).click();
    const dialog = page.getByRole('dialog');
    // $0.000001: 1,000 nano-USD; each call below costs 200.
    await dialog.getByLabel('Spend cap, USD per month').fill('0.000001');
    await dialog.getByLabel('When the budget is reached').selectOption('alert_only');
    await dialog.getByLabel('Alert at 50%').uncheck();
    await dialog.getByLabel('Who is told at 80%').fill('creator, nobody@elsewhere.example');
    await dialog.getByRole('button', { name: 'Save limits' }).click();
    // The API names `limits.budget_alerts[0].recipients[1]`: the 80% row (the first sent) shows it.
    await dialog.locator('#edit-key-alert-80-to-error').waitFor();
    expect(await dialog.locator('#edit-key-alert-80-to-error').textContent()).toContain('not a member');
    await shot(page, 'key-budget-error');
    await dialog.getByLabel('Who is told at 80%').fill('creator');
    await dialog.getByRole('button', { name: 'Save limits' }).click();
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    const row = page.getByRole('row', { name: /team-a/ });
    await row.getByText(/alerts only, alerts 80%\/100%/).waitFor();
    await shot(page, 'key-budget-saved');
    const saved = (await (await api('/account/keys')).json()) as {
      data: { name: string; limits: Record<string, unknown> | null }[];
    };
    expect(saved.data.find((k) => k.name === 'team-a')?.limits).toEqual({
      monthly_spend_cap_usd: 0.000001,
      budget_mode: 'alert_only',
      budget_alerts: [
        { threshold: 80, recipients: ['creator'] },
        { threshold: 100, recipients: ['owner', 'creator'] },
      ],
    });
  });

  it('the key is served past its budget and the alerts page lists its alerts by the key’s name', async () => {
    for (let i = 0; i < 7; i++) {
      const res = await fetch(`${stack.url}/v1/text/sentiment`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'sentiment', input: 'good day' }),
      });
      expect(res.status).toBe(200);
    }
    await stack.drainUsage();
    await page.goto(`${stack.url}/alerts`);
    const rows = page.getByRole('row', { name: /API key “team-a” budget \(alert only\)/ });
    await rows.first().waitFor();
    expect(await rows.count()).toBe(2);
    expect(await rows.first().textContent()).toContain(OWNER.email);
    await shot(page, 'key-budget-alerts');
    const mails = stack.outbox.list(OWNER.email).filter((m) => m.kind === 'key_budget_alert');
    expect(mails.map((m) => m.subject)).toEqual([expect.stringContaining('has reached its monthly budget')]);
    expect(problems).toEqual([]);
  });
});
