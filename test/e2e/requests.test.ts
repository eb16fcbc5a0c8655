import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { type Browser, browser, shot } from './browser';

// Only the model the journey calls.
process.env.RUNTIME_MODELS = 'sentiment';

const OWNER = { email: 'lead@requests.example', password: 'a log of every request' };

/**
 * The request log in Debian's Chromium against the local stack: an owner makes a project (Projects
 * page) and a key in it scoped to embeddings (Keys page), its sentiment call is refused (403 endpoint_not_in_key_scope), and the Requests page
 * shows that refusal in its per-minute counts; a served call is found by its request id pasted as
 * it came in an error envelope.
 */
describe('the request log in the console', () => {
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
  const sentiment = (secret: string) =>
    fetch(`${stack.url}/v1/text/sentiment`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sentiment', input: 'a fine day' }),
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
    expect(
      (await api('/auth/signup', { json: { ...OWNER, name: 'Lead', company: 'Requests' } })).status,
    ).toBe(202);
    const verify = stack.outbox.latest(OWNER.email, 'verify_email')!.text;
    const verifyToken = /[?&]token=([A-Za-z0-9_-]+)/.exec(verify)![1];
    expect((await api('/auth/verify', { json: { token: verifyToken } })).status).toBe(200);
    const login = await api('/auth/login', { json: OWNER });
    token = ((await login.json()) as { access_token: string }).access_token;
    chrome = browser();
    ({ page, problems } = await chrome.open());
    await page.goto(`${stack.url}/login`);
    await page.getByLabel('Email').fill(OWNER.email);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/overview$/);
  });

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail' && page) await shot(page, `failed-requests-${task.name.slice(0, 40)}`);
  });

  afterAll(async () => {
    await chrome?.close();
    await stack?.stop();
  });

  it('a key of a new project outside its scope is refused (403), and the Requests page counts the refusal', async () => {
    // The project is made on the Projects page.
    await page.goto(`${stack.url}/projects`);
    await page.getByRole('button', { name: 'New project' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('Search');
    await dialog.getByRole('button', { name: 'Create project' }).click();
    await expect
      .poll(() =>
        page
          .getByTestId('project-detail')
          .getByRole('heading', { name: /Search/ })
          .count(),
      )
      .toBe(1);
    const projects = (await (await api('/account/projects')).json()) as {
      data: { id: string; name: string }[];
    };
    const projectId = projects.data.find((p) => p.name === 'Search')!.id;
    // A key in the project scoped to the embeddings endpoint, made in the Keys page's dialog; then a
    // sentiment call with it: outside its scope.
    await page.goto(`${stack.url}/keys`);
    await page.getByRole('button', { name: 'Create key' }).click();
    const create = page.getByRole('dialog');
    await create.getByLabel('Name').fill('search-embeddings');
    await create.getByLabel('Project').selectOption({ label: 'Search' });
    await create.getByRole('checkbox', { name: 'Embeddings' }).check();
    await create.getByRole('button', { name: 'Create key' }).click();
    const secretBox = page.getByLabel('API key secret');
    await secretBox.waitFor();
    const key = { secret: await secretBox.inputValue() };
    await page.getByRole('button', { name: 'I have copied it' }).click();
    // The key is listed in its project with its scope, as the API holds it.
    const keyRow = page.getByRole('row', { name: /search-embeddings/ });
    await keyRow.waitFor();
    expect(await keyRow.textContent()).toContain('endpoints: embeddings');
    const listed = (await (await api(`/account/keys?project_id=${projectId}`)).json()) as {
      data: { name: string; scope: { endpoints: string[] } | null }[];
    };
    expect(listed.data.find((k) => k.name === 'search-embeddings')?.scope?.endpoints).toEqual(['embeddings']);
    await shot(page, 'keys-scoped');
    const refused = await sentiment(key.secret);
    expect(refused.status).toBe(403);
    const code = ((await refused.json()) as { error: { code: string } }).error.code;
    expect(code).toBe('endpoint_not_in_key_scope');

    await page.goto(`${stack.url}/requests`);
    await page.getByRole('heading', { name: 'Requests', level: 1 }).waitFor();
    const refusals = page.getByTestId('refusals');
    const row = refusals.getByRole('row', { name: new RegExp(code) });
    await row.waitFor({ timeout: 5_000 });
    const text = (await row.textContent()) ?? '';
    expect(text).toContain('search-embeddings');
    expect(text).toContain('Search');
    expect(text).toContain('403');
    await shot(page, 'requests-refusal');

    // Filtered to the project: still there; to another reason: gone.
    await page.getByLabel('Project').selectOption(projectId);
    await row.waitFor();
    await page.getByLabel('Reason').fill('rate_limit_requests');
    await page.getByLabel('Reason').press('Tab');
    await refusals.getByText('No refusals').waitFor();
    await page.getByLabel('Reason').fill('');
    await page.getByLabel('Reason').press('Tab');
    await row.waitFor();
  });

  it('finds a served call by its request id pasted with the JSON around it', async () => {
    const made = await api('/account/keys', { json: { name: 'served' } });
    const key = (await made.json()) as { secret: string };
    const res = await sentiment(key.secret);
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id')!;

    await page.goto(`${stack.url}/requests`);
    await page.getByLabel('Request id').fill(`  "request_id": "${id}",  `);
    await page.getByRole('button', { name: 'Find' }).click();
    const detail = page.getByTestId('request-detail');
    await detail.waitFor();
    expect(await detail.textContent()).toContain(id);
    expect(await detail.textContent()).toContain('sentiment@');
    expect(await page.getByLabel('Request id').inputValue()).toBe(id);
    // The list has it too, newest first.
    const first = page.getByRole('table', { name: 'Served calls, newest first' }).getByRole('row').nth(1);
    expect(await first.textContent()).toContain(id);
    await shot(page, 'requests-found');

    // Something that is not a request id is named under the box; nothing is looked up.
    await page.getByLabel('Request id').fill('not an id');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.locator('#request-search-error').waitFor();
    expect(problems).toEqual([]);
  });
});
