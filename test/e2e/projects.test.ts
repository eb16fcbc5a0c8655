import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { type Browser, browser, shot } from './browser';

// Only the model the journey calls.
process.env.RUNTIME_MODELS = 'sentiment';

const OWNER = { email: 'lead@projects.example', password: 'a project of passwords' };

/**
 * An owner organises keys into projects, in Debian's Chromium against the local stack: a budget
 * above the account's spend cap is named under its field and nothing is made, a project with a
 * budget is created and shown, and a key made in it is listed under it.
 */
describe('projects in the console', () => {
  let stack: LocalStack;
  let chrome: Browser;
  let page: Awaited<ReturnType<Browser['open']>>['page'];
  let problems: string[];
  let token = '';

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
    expect(
      (await api('/auth/signup', { json: { ...OWNER, name: 'Lead', company: 'Projects' } })).status,
    ).toBe(202);
    const verify = stack.outbox.latest(OWNER.email, 'verify_email')!.text;
    const verifyToken = /[?&]token=([A-Za-z0-9_-]+)/.exec(verify)![1];
    expect((await api('/auth/verify', { json: { token: verifyToken } })).status).toBe(200);
    const login = await api('/auth/login', { json: OWNER });
    token = ((await login.json()) as { access_token: string }).access_token;
    // The account's own cap: what a project's budget nests in.
    expect((await api('/account/limits', { method: 'PATCH', json: { spend_cap_usd: 10 } })).status).toBe(200);
    chrome = browser();
    ({ page, problems } = await chrome.open());
  });

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail' && page) await shot(page, `failed-projects-${task.name.slice(0, 40)}`);
  });

  afterAll(async () => {
    await chrome?.close();
    await stack?.stop();
  });

  it('creates a project with a budget inside the account’s, and makes a key in it', async () => {
    await page.goto(`${stack.url}/login`);
    await page.getByLabel('Email').fill(OWNER.email);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/overview$/);
    await page.getByRole('link', { name: 'Projects', exact: true }).click();
    await page.waitForURL(/\/projects$/);
    await expect.poll(() => page.getByRole('row', { name: /Default/ }).count()).toBe(1);

    await page.getByRole('button', { name: 'New project' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('Search');
    await dialog.getByLabel('Monthly budget (USD)').fill('20');
    await dialog.getByRole('button', { name: 'Create project' }).click();
    await expect
      .poll(() => dialog.getByText(/may not exceed the account's monthly spend cap/).count())
      .toBe(1);
    const before = (await (await api('/account/projects')).json()) as { data: unknown[] };
    expect(before.data).toHaveLength(1);

    await dialog.getByLabel('Monthly budget (USD)').fill('5');
    await dialog.getByLabel('When the budget is reached').selectOption('alert_only');
    await dialog.getByRole('button', { name: 'Create project' }).click();
    const detail = page.getByTestId('project-detail');
    await expect.poll(() => detail.getByRole('heading', { name: /Search/ }).count()).toBe(1);
    expect(await page.getByRole('row', { name: /Search/ }).textContent()).toContain('$5/month (alert only)');
    // The members table lists the owner as the project's owner.
    expect(await detail.getByRole('row', { name: /Lead/ }).textContent()).toContain('owner');
    await shot(page, 'projects');

    await page.goto(`${stack.url}/keys`);
    await page.getByRole('button', { name: 'Create key' }).click();
    const create = page.getByRole('dialog');
    await create.getByLabel('Name', { exact: true }).fill('search-prod');
    await create.getByLabel('Project').selectOption({ label: 'Search' });
    await create.getByRole('button', { name: 'Create key' }).click();
    await create.getByRole('button', { name: 'I have copied it' }).click();
    await expect.poll(() => page.getByRole('row', { name: /search-prod/ }).count()).toBe(1);
    expect(await page.getByRole('row', { name: /search-prod/ }).textContent()).toContain('Search');
    const keys = (await (await api('/account/keys')).json()) as {
      data: { name: string; project_id: string }[];
    };
    const projects = (await (await api('/account/projects')).json()) as {
      data: { id: string; name: string }[];
    };
    const search = projects.data.find((p) => p.name === 'Search')!;
    expect(keys.data.find((k) => k.name === 'search-prod')?.project_id).toBe(search.id);
    expect(problems).toEqual([]);
  });
});
