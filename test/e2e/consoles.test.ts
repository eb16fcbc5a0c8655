import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStores } from '../../functions/api/wiring/deps';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { loadConfig } from '../../shared/config';
import { newId } from '../../shared/ids';
import { createLogger } from '../../shared/logger';
import { type Browser, browser, shot, testPng } from './browser';

// The stack's model runtime inherits this: the models the journeys call (not every vision version).
process.env.RUNTIME_MODELS = 'sentiment,chat,image-moderation@mobilenet-v2,ocr@tesseract-5,embeddings';

const OPERATOR = { email: 'ops@tollgate.example', password: 'operator password 1' };
const DEV = {
  name: 'Ada Lovelace',
  company: 'Analytical Engines',
  email: 'ada@engines.example',
  password: 'correct horse battery',
};

/**
 * The consoles in Debian's Chromium against the real local stack (DynamoDB Local, the model
 * runtime, the API and the built console on one origin), as a person uses them: a developer signs
 * up and gets to a working key, a call and its usage; an operator finds that tenant, suspends it,
 * moves canary traffic and reads the audit log. Every page is saved to test-results/screenshots.
 */
describe('the consoles in a real browser', () => {
  let stack: LocalStack;
  let chrome: Browser;
  let dev: { page: Page; problems: string[] };
  let ops: { page: Page; problems: string[] };
  let paths: Record<string, Record<string, unknown>> = {};
  let tenantId = '';
  const has = (method: string, path: string) => Boolean(paths[path]?.[method]);

  beforeAll(async () => {
    stack = await startLocalStack(
      loadConfig({
        PORT: '0',
        TOLLGATE_IN_MEMORY: 'true',
        OPERATOR_EMAIL: OPERATOR.email,
        OPERATOR_PASSWORD: OPERATOR.password,
        LOG_LEVEL: 'silent',
        // The operator reads model health soon after the developer's calls.
        HEALTH_FLUSH_MS: '500',
      }),
      createLogger('silent'),
      { print: () => {} },
    );
    paths = ((await (await fetch(`${stack.url}/openapi.json`)).json()) as { paths: typeof paths }).paths;
    // The vision models load in the runtime's workers after it starts: /health says when all answer.
    for (let i = 0; i < 240 && (await fetch(`${stack.url}/health`)).status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 500));
    }
    chrome = browser();
    dev = await chrome.open();
  });

  // A failed step leaves a picture of what the browsers showed.
  afterEach(async ({ task }) => {
    if (task.result?.state !== 'fail') return;
    const name = task.name.replace(/\W+/g, '-').slice(0, 60);
    if (dev) await shot(dev.page, `failed-developer-${name}`).catch(() => {});
    if (ops) await shot(ops.page, `failed-operator-${name}`).catch(() => {});
  });

  afterAll(async () => {
    await chrome?.close();
    await stack?.stop();
  });

  const go = (page: Page, path: string) => page.goto(`${stack.url}${path}`);
  const nav = (page: Page, label: string) =>
    page.getByRole('navigation').getByRole('link', { name: label, exact: true }).click();

  it('serves the console with its security headers, and keeps unknown API paths JSON', async () => {
    const res = await fetch(`${stack.url}/signup`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeTruthy();
    const js = await fetch(`${stack.url}${asset}`);
    expect(js.headers.get('cache-control')).toContain('immutable');
    // Client routes (a reload, an emailed link) get the app; files outside web/dist never leak.
    const deep = await fetch(`${stack.url}/operator/tenants/ten_123`);
    expect(deep.headers.get('content-type')).toContain('text/html');
    for (const page of ['/alerts', '/operator/plans']) {
      expect((await fetch(`${stack.url}${page}`)).headers.get('content-type')).toContain('text/html');
    }
    expect(deep.headers.get('cache-control')).toBe('no-cache');
    const traversal = await fetch(`${stack.url}/assets/..%2f..%2fpackage.json`);
    expect(traversal.status).toBe(404);
    expect(await traversal.text()).not.toContain('"devDependencies"');
    const missing = await fetch(`${stack.url}/v2/anything`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const api = await fetch(`${stack.url}/account`);
    expect(api.status).toBe(401);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('missing_credentials');
  });

  it('a new developer signs up, verifies through the outbox link and logs in', async () => {
    const { page } = dev;
    await go(page, '/');
    await page.waitForURL(/\/login$/);
    await shot(page, '01-login');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Your name').fill(DEV.name);
    await page.getByLabel('Company or team').fill(DEV.company);
    await page.getByLabel('Email').fill(DEV.email);
    await page.getByLabel('Password').fill(DEV.password);
    await shot(page, '02-signup');
    await page.getByRole('button', { name: 'Create account' }).click();
    // Sign-up hashes the password: on a busy machine it takes longer than a poll's one second.
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    // The local outbox panel offers the email's own link.
    const link = page.getByRole('link', { name: 'Open the link from the email' });
    await link.waitFor();
    await shot(page, '03-check-inbox');
    expect(await link.getAttribute('href')).toMatch(/^\/verify-email\?token=tgv_/);
    await link.click();
    await page.getByRole('button', { name: 'Verify my email' }).click();
    await page.getByRole('heading', { name: 'Email verified' }).waitFor();
    await shot(page, '04-verified');
    await page.getByRole('link', { name: 'Log in' }).first().click();
    await page.getByLabel('Email').fill(DEV.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    // The API's error envelope, shown as it says it.
    await page.getByRole('alert').filter({ hasText: 'Wrong email or password.' }).waitFor();
    await page.getByLabel('Password').fill(DEV.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/overview$/);
    await page.getByRole('heading', { name: `Welcome, ${DEV.name}` }).waitFor();
    await shot(page, '05-overview');
  });

  it('creates an API key: the secret is shown once, with a copy button', async () => {
    const { page } = dev;
    await nav(page, 'API keys');
    await page.getByText('No API keys yet').waitFor();
    await page.getByRole('button', { name: 'Create key' }).first().click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('laptop');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const secret = dialog.getByLabel('API key secret');
    await secret.waitFor();
    expect(await secret.inputValue()).toMatch(/^tg_live_[A-Za-z0-9]{43}$/);
    await expect.poll(() => dialog.getByRole('button', { name: 'Copy secret' }).isVisible()).toBe(true);
    await shot(page, '06-key-created');
    // The button takes the key to the playground, which then calls with it.
    await dialog.getByRole('button', { name: 'Use in the playground' }).click();
    await page.waitForURL(/\/playground$/);
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    const inUse = page.getByRole('region', { name: 'API key in use' });
    await inUse.getByText('Calling with').waitFor();
    expect(await inUse.textContent()).toContain('laptop');
    await nav(page, 'API keys');
    const row = page.getByRole('row', { name: /laptop/ });
    await row.waitFor();
    expect(await row.textContent()).toContain('active');
    // The list never shows the secret again, only its prefix.
    expect(await page.locator('main').textContent()).not.toMatch(/tg_live_[A-Za-z0-9]{43}/);
    await shot(page, '07-keys');
  });

  it("edits the key's limits: a bad value is named on its field, a good one shows in the list", async () => {
    const { page } = dev;
    await page.getByRole('button', { name: 'Edit the limits of laptop' }).click();
    const dialog = page.getByRole('dialog');
    const rpm = dialog.getByLabel('Requests per minute');
    await rpm.fill('0');
    await dialog.getByRole('button', { name: 'Save limits' }).click();
    // The API's envelope names `limits.requests_per_minute`: the message sits under that box.
    await dialog.locator('#edit-key-requests_per_minute-error').waitFor();
    expect(await rpm.getAttribute('aria-invalid')).toBe('true');
    await shot(page, '07b-key-limits-error');
    await rpm.fill('600');
    await dialog.getByLabel('Spend cap, USD per month').fill('5');
    await dialog.getByRole('button', { name: 'Save limits' }).click();
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    const row = page.getByRole('row', { name: /laptop/ });
    await row.getByText('600 req/min').waitFor();
    expect(await row.textContent()).toContain('$5/month');
  });

  it('runs a streamed chat in the playground with that key', async () => {
    const { page } = dev;
    await nav(page, 'Playground');
    await page.getByText('Calling with').waitFor();
    await page.getByLabel('Message').fill('Say hello.');
    const answer = page.waitForResponse((r) => r.url().endsWith('/v1/chat/completions'));
    await page.getByRole('button', { name: 'Send' }).click();
    const res = await answer;
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toContain('text/event-stream');
    const facts = page.locator('.facts');
    await facts.getByText('chat@tiny-1').waitFor();
    expect(await facts.textContent()).toMatch(/Usage\d+ in · \d+ out/);
    expect(await facts.textContent()).toMatch(/Cost\$0\.0/);
    expect(await page.locator('.bubble-assistant').count()).toBe(1);
    await shot(page, '08-playground-chat');
  });

  it('uploads an image to the moderation playground and shows what the API answers', async () => {
    const { page } = dev;
    await page.getByRole('tab', { name: 'Image moderation' }).click();
    await page
      .getByLabel('Image', { exact: true })
      .setInputFiles({ name: 'gradient.png', mimeType: 'image/png', buffer: testPng() });
    await page.getByRole('img', { name: 'Preview of your upload' }).waitFor();
    await page.getByRole('button', { name: 'Moderate image' }).click();
    const result = page.getByTestId('image-result');
    if (has('post', '/v1/images/moderations')) {
      await result.getByText(/^(flagged|not flagged)$/i).waitFor();
      expect(await result.textContent()).toContain('image-moderation@');
    } else {
      // Not on this server yet: the playground shows the API's own envelope for the route, clearly.
      await result.getByRole('alert').waitFor();
      const text = await result.textContent();
      expect(text).toContain('The API refused the call');
      expect(text).toContain('No route for POST /v1/images/moderations.');
      expect(text).toContain('HTTP 404');
      expect(text).toContain('not_found');
      expect(await page.getByText('does not list POST /v1/images/moderations yet').count()).toBe(1);
    }
    await shot(page, '09-playground-image');
  });

  it('shows the usage in the charts and the table, batch apart from online, and exports it as CSV', async () => {
    const { page } = dev;
    // Two lines of a batch job, written to the ledger as the batch worker writes them (at the batch
    // price, channel batch), under a key of their own so the key's other figures stay as they are.
    const stores = createStores({ ...stack.config, DYNAMODB_ENDPOINT: stack.dynamoEndpoint });
    const owner = await stores.users.findEmailOwner(DEV.email);
    expect(owner?.kind).toBe('user');
    const devTenant = owner?.kind === 'user' ? owner.tenantId : '';
    const batchKey = newId('key');
    for (let i = 0; i < 2; i++) {
      const at = new Date();
      expect(
        await stores.usage.record({
          requestId: newId('req', at.getTime() + i),
          tenantId: devTenant,
          keyId: batchKey,
          model: 'ocr',
          version: 'tesseract-5',
          units: { images: 1 },
          costNanoUsd: 500_000,
          priceBook: 'batch',
          latencyMs: 40,
          status: 'succeeded',
          at: at.toISOString(),
          channel: 'batch',
        }),
      ).toBe('recorded');
    }
    stores.dynamo.client.destroy();
    // Aggregates come from the usage stream a second behind the calls: read them once it is applied.
    await stack.drainUsage();
    await nav(page, 'Usage');
    const charts = page.getByTestId('usage-charts');
    // The charts' code loads on demand: wait for the fourth to be drawn.
    await charts.locator('canvas').nth(3).waitFor();
    expect(await charts.locator('canvas').count()).toBeGreaterThanOrEqual(4);
    const table = page.getByRole('table', { name: 'Usage per day, model version and key' });
    const row = table.getByRole('row', { name: /chat@tiny-1/ });
    await row.waitFor();
    expect(await row.textContent()).toContain('laptop');
    // The chat, and the image when this server moderates images (a refused call is never metered).
    const images = has('post', '/v1/images/moderations') ? 1 : 0;
    expect(await page.locator('.stat').first().textContent()).toBe(`Requests${1 + images + 2}`);
    expect(await page.locator('.stat').nth(2).textContent()).toBe(`Images${images + 2}`);
    if (images) await table.getByRole('row', { name: /image-moderation@mobilenet-v2/ }).waitFor();
    // The batch lines are a row of their own, said to be batch, and summed apart.
    expect(await row.textContent()).toContain('Online');
    const batchRow = table.getByRole('row', { name: /ocr@tesseract-5/ });
    expect(await batchRow.textContent()).toContain('Batch');
    expect(await page.getByTestId('usage-by-channel').textContent()).toContain(
      `Online: ${1 + images} requests, $0.`,
    );
    expect(await page.getByTestId('usage-by-channel').textContent()).toContain('Batch: 2 requests, $0.001');
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const file = await download;
    const csv = await (await file.createReadStream()).toArray();
    const text = Buffer.concat(csv as Buffer[]).toString('utf8');
    // The server's file (`?format=csv`): RFC 4180 with CRLF, named after the range.
    expect(file.suggestedFilename()).toMatch(/^usage-\d{4}-\d{2}-01-\d{4}-\d{2}-\d{2}\.csv$/);
    expect(text.split('\r\n')[0]).toBe(
      'date,model,version,key_id,key_name,requests,input_tokens,output_tokens,images,cost_usd,channel,project_id',
    );
    expect(text).toMatch(/,chat,tiny-1,key_\w+,laptop,.*,online,proj_default\r\n/);
    expect(text).toContain(`,ocr,tesseract-5,${batchKey},,2,0,0,2,0.001000000,batch,proj_default\r\n`);
    await shot(page, '10-usage');
    // The channel filter: batch jobs alone.
    await page.getByLabel('Channel', { exact: true }).selectOption('batch');
    await table.getByRole('row', { name: /chat@tiny-1/ }).waitFor({ state: 'detached' });
    expect(await page.locator('.stat').first().textContent()).toBe('Requests2');
    await batchRow.waitFor();
    await page.getByLabel('Channel', { exact: true }).selectOption('');
  });

  it('analyses sentiment in the playground: each line labelled, its score to two decimals', async () => {
    const { page } = dev;
    await nav(page, 'Playground');
    await page.getByRole('tab', { name: 'Sentiment' }).click();
    await page.getByLabel('Sentences, one per line').fill('I love this console.\nThe delivery was not good.');
    await page.getByRole('button', { name: 'Analyse' }).click();
    const results = page.locator('.result-list li');
    await results.nth(1).waitFor();
    expect(await results.count()).toBe(2);
    for (const line of await results.allTextContents()) {
      // The API's float (say -0.09999999999999998) is shown as -0.10.
      expect(line).toMatch(/^(Positive|Negative|Neutral) .+ \(-?[01]\.\d{2}\)$/);
    }
    await shot(page, '09b-playground-sentiment');
    // View code: the same request as curl and Python, the key read from the environment.
    await page.getByRole('button', { name: 'View code' }).click();
    const code = page.locator('.code-panel .code-block');
    const curl = await code.textContent();
    expect(curl).toContain(`curl ${stack.url}/v1/text/sentiment`);
    expect(curl).toContain('Bearer $TOLLGATE_API_KEY');
    expect(curl).toContain('"The delivery was not good."');
    await page.getByRole('tab', { name: 'Python' }).click();
    expect(await code.textContent()).toContain('requests.post(');
    await shot(page, '09d-playground-view-code');
  });

  it('embeds texts in the playground: each vector, and the texts alike in meaning nearer each other', async () => {
    const { page } = dev;
    await nav(page, 'Playground');
    await page.getByRole('tab', { name: 'Embeddings' }).click();
    await page.getByLabel('Texts, one per line').fill('cat\ndog\ncar');
    await page.getByRole('button', { name: 'Embed' }).click();
    const results = page.locator('.result-list li');
    await results.nth(2).waitFor();
    for (const line of await results.allTextContents()) expect(line).toMatch(/\(100 dimensions: \[/);
    // Row 1 (cat): similarity to dog, then to car; real word vectors put dog nearer.
    const cells = await page
      .getByRole('row', { name: /^1\. cat/ })
      .getByRole('cell')
      .allTextContents();
    const [self, dog, car] = cells.map(Number);
    expect(self).toBe(1);
    expect(dog).toBeGreaterThan(car!);
    await page.locator('.facts').getByText('embeddings@wink-100d').waitFor();
    // Embeddings are billed for input alone: no "0 out".
    expect(await page.locator('.facts').textContent()).toMatch(/Usage3 tokens/);
    await shot(page, '09c-playground-embeddings');
  });

  it('rotates the key: the old and the new one share the name and are told apart by their secret', async () => {
    const { page } = dev;
    await nav(page, 'API keys');
    await page.getByRole('button', { name: 'Rotate laptop' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Rotate key' }).click();
    const secret = await dialog.getByLabel('API key secret').inputValue();
    await dialog.getByRole('button', { name: 'I have copied it' }).click();
    await page
      .getByRole('row', { name: /laptop/ })
      .nth(1)
      .waitFor();
    expect(await page.getByRole('row', { name: /laptop/ }).count()).toBe(2);
    const newPrefix = secret.slice(0, 14);
    const rows = await page.getByRole('row', { name: /laptop/ }).allTextContents();
    const old = rows.find((r) => r.includes('rotated'))!;
    // The old row names the secret that replaced it; each row's actions name their own key.
    expect(old).toContain(`rotated to ${newPrefix}…`);
    const oldPrefix = /tg_live_\w{6}/.exec(old)![0];
    expect(oldPrefix).not.toBe(newPrefix);
    await page.getByRole('button', { name: `Revoke laptop · ${newPrefix}…` }).waitFor();
    await page.getByRole('button', { name: `Revoke laptop · ${oldPrefix}…` }).waitFor();
    await shot(page, '07c-keys-rotated');
    // Usage names its keys the same way (the old key made the calls so far).
    await nav(page, 'Usage');
    const filter = page.getByLabel('API key', { exact: true });
    await filter.locator('option', { hasText: `laptop · ${oldPrefix}…` }).waitFor({ state: 'attached' });
  });

  it('shows the catalog, billing and team pages with their real state', async () => {
    const { page } = dev;
    await nav(page, 'Models');
    await page.getByRole('heading', { name: 'chat', exact: true }).waitFor();
    await page.getByRole('rowheader', { name: /chat@tiny-1/ }).waitFor();
    // The card: context window and max output, and a sample whose answer carries its cost.
    const tiny = page.getByRole('row', { name: /chat@tiny-1/ });
    await tiny.getByRole('cell', { name: '2,048 tokens, up to 512 out' }).waitFor();
    await tiny.getByText('Sample request and answer').click();
    expect(await tiny.locator('.version-sample .code-block').textContent()).toContain('"cost_usd"');
    if (has('put', '/account/models/pins/{model}')) {
      // Pin OCR to Tesseract: plain `ocr` calls from this tenant now get that version.
      const ocr = page.getByRole('region', { name: 'ocr', exact: true });
      await ocr.getByLabel('Pinned version').selectOption('tesseract-5');
      await ocr.getByRole('button', { name: 'Save pin' }).click();
      await ocr.getByText('Your calls to ocr get ocr@tesseract-5').waitFor();
    } else {
      await page.getByText('Version pins: not available yet').waitFor();
    }
    await shot(page, '11-models');
    await nav(page, 'Billing');
    if (has('get', '/account/billing')) {
      // No Stripe key locally: the ledger's invoice, and the Stripe buttons say why they are off.
      await page.getByText('Ledger only.').waitFor();
      expect(await page.getByRole('button', { name: 'Add a card with Stripe' }).isDisabled()).toBe(true);
      await page.getByRole('heading', { name: "This month's invoice, so far" }).waitFor();
    } else {
      await page.getByText('Billing: not available yet').waitFor();
    }
    await shot(page, '12-billing');
    await nav(page, 'Team');
    await page.getByRole('rowheader', { name: new RegExp(DEV.name) }).waitFor();
    await page.getByRole('button', { name: 'Invite teammate' }).click();
    await page.getByRole('dialog').getByLabel('Email').fill('grace@engines.example');
    await page.getByRole('dialog').getByRole('button', { name: 'Send invitation' }).click();
    await page.getByRole('rowheader', { name: 'grace@engines.example' }).waitFor();
    await shot(page, '13-team');
    await nav(page, 'Overview');
    await page.getByText('Requests').first().waitFor();
    await shot(page, '14-overview-after');
  });

  it('an operator finds the tenant and suspends it; the next API call is refused', async () => {
    ops = await chrome.open();
    const { page } = ops;
    await go(page, '/login');
    await page.getByLabel('Email').fill(OPERATOR.email);
    await page.getByLabel('Password').fill(OPERATOR.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/operator$/);
    await page.getByRole('heading', { name: 'Platform overview' }).waitFor();
    // GET /admin/usage as it answers: the developer's calls in the charts and both top tables.
    await page.getByTestId('platform-charts').locator('canvas').nth(3).waitFor();
    expect(await page.getByTestId('platform-charts').locator('canvas').count()).toBe(4);
    await page
      .getByRole('table', { name: /^Top tenants/ })
      .getByRole('rowheader', { name: DEV.company })
      .waitFor();
    await page
      .getByRole('table', { name: 'Top model versions' })
      .getByRole('rowheader', { name: 'chat@tiny-1' })
      .waitFor();
    // The developer's batch lines: a row of their own, and the batch figure beside the totals.
    const batchVersion = page.getByRole('table', { name: 'Top model versions' }).getByRole('row', {
      name: /ocr@tesseract-5/,
    });
    expect(await batchVersion.textContent()).toContain('Batch');
    expect(await page.locator('.stat', { hasText: /^Batch/ }).textContent()).toContain('2 requests');
    await page.getByLabel('Channel', { exact: true }).selectOption('batch');
    await page
      .getByRole('table', { name: 'Top model versions' })
      .getByRole('rowheader', { name: 'chat@tiny-1' })
      .waitFor({ state: 'detached' });
    expect(await batchVersion.textContent()).toContain('Batch');
    await page.getByLabel('Channel', { exact: true }).selectOption('');
    await page
      .getByRole('table', { name: 'Top model versions' })
      .getByRole('rowheader', { name: 'chat@tiny-1' })
      .waitFor();
    // GET /admin/models/health: the version the developer's playground used, its requests counted.
    const health = page.getByRole('table', { name: 'Model versions', exact: true });
    const chat = health.getByRole('row', { name: /chat@tiny-1/ });
    await chat.waitFor();
    const requests = await chat.getByRole('cell').first().textContent();
    expect(Number(requests?.replace(/,/g, ''))).toBeGreaterThan(0);
    // At 375 px its rows become blocks: neither the page nor the table scrolls sideways.
    await page.setViewportSize({ width: 375, height: 760 });
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    const wrap = health.locator('xpath=..');
    expect(await wrap.evaluate((el) => el.scrollWidth - el.clientWidth)).toBeLessThanOrEqual(0);
    await shot(page, '20b-operator-model-health-375');
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.getByRole('heading', { name: 'Tenants' }).waitFor();
    await page.getByRole('link', { name: 'Find a tenant' }).waitFor();
    await shot(page, '20-operator-overview');
    await nav(page, 'Tenants');
    await page.getByLabel('Search').fill(DEV.email);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: DEV.company }).click();
    await page.getByRole('heading', { name: DEV.company }).waitFor();
    tenantId = /\/operator\/tenants\/(ten_\w+)/.exec(page.url())?.[1] ?? '';
    expect(tenantId).toMatch(/^ten_/);
    // Keys are listed without secrets.
    await page.getByRole('rowheader', { name: 'laptop' }).first().waitFor();
    expect(await page.getByRole('rowheader', { name: 'laptop' }).count()).toBe(2);
    expect(await page.locator('main').textContent()).not.toMatch(/tg_live_[A-Za-z0-9]{43}/);
    await shot(page, '21-tenant-detail');
    // This month's usage of that tenant, per model version: the playground's chat is there.
    const usage = page.getByRole('table', { name: 'Usage per model version this month' });
    await usage.getByRole('rowheader', { name: 'chat@tiny-1' }).waitFor();
    expect(await usage.getByRole('row', { name: /ocr@tesseract-5/ }).textContent()).toContain('Batch');
    await page.getByTestId('tenant-usage-charts').locator('canvas').nth(1).waitFor();
    expect(await page.getByTestId('tenant-usage-charts').locator('canvas').count()).toBe(2);

    // A limit override: the API's refusal sits on the field its `param` names, then one that sticks.
    const rpm = page.getByLabel('Requests / minute');
    await rpm.fill('0');
    await page.getByRole('button', { name: 'Save overrides' }).click();
    await page.locator('#limit-requests_per_minute-error').waitFor();
    expect(await rpm.getAttribute('aria-invalid')).toBe('true');
    await rpm.fill('42');
    await page.getByRole('button', { name: 'Save overrides' }).click();
    const applies = page.getByTestId('applies-requests_per_minute');
    await applies.filter({ hasText: /^42$/ }).waitFor();
    await page.getByRole('button', { name: 'Clear the requests / minute override' }).waitFor();
    await shot(page, '21b-tenant-limits');
    // Applied: the developer's own account now reads the operator's number as its limit.
    const applied = () =>
      dev.page.evaluate<number>(
        "fetch('/account/limits').then((r) => r.json()).then((l) => l.effective.requests_per_minute)",
      );
    expect(await applied()).toBe(42);
    // Cleared: the plan's value applies again, for the developer too.
    const planRpm = await page
      .getByRole('row', { name: /Requests \/ minute/ })
      .locator('td')
      .first()
      .textContent();
    // The box empties in the same render that shows the plan's value: read it the moment the cell
    // changes (a MutationObserver runs before any effect could catch up), not some time later.
    // (Browser code as a string: the server's type-check has no DOM library.)
    const boxWhenCellChanged = page.evaluate<string>(`new Promise((resolve) => {
      const check = () => {
        const cell = document.querySelector('[data-testid="applies-requests_per_minute"]');
        const box = document.getElementById('limit-requests_per_minute');
        if (cell?.textContent !== ${JSON.stringify(planRpm)} || !box) return;
        observer.disconnect();
        resolve(box.value);
      };
      const observer = new MutationObserver(check);
      observer.observe(document.body, { childList: true, characterData: true, subtree: true });
      setTimeout(() => resolve('(the plan value never showed)'), 20000);
    })`);
    await page.getByRole('button', { name: 'Clear the requests / minute override' }).click();
    await applies.filter({ hasText: new RegExp(`^${planRpm}$`) }).waitFor();
    expect(await boxWhenCellChanged).toBe('');
    expect(await rpm.inputValue()).toBe('');
    expect(String(await applied())).toBe((planRpm ?? '').replace(/,/g, ''));
    // A plan change: the plan's values beside the overrides, and what applies, follow it.
    await page.getByLabel('Plan', { exact: true }).selectOption('payg');
    await page.getByRole('button', { name: 'Change plan' }).click();
    await page.locator('.stat').filter({ hasText: 'Pay as you go' }).waitFor();
    await applies.filter({ hasText: /^600$/ }).waitFor();
    expect(await applied()).toBe(600);
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.getByRole('dialog').getByLabel('Reason (kept in the audit log)').fill('e2e: unpaid invoices');
    await page.getByRole('dialog').getByRole('button', { name: 'Suspend tenant' }).click();
    await page.getByRole('button', { name: 'Reactivate' }).waitFor();
    expect(await page.locator('.stat').first().textContent()).toContain('suspended');
    await shot(page, '22-tenant-suspended');

    // The developer's next call, from the playground, is refused with the API's envelope.
    const d = dev.page;
    await nav(d, 'Playground');
    await d.getByLabel('Message').fill('Are you there?');
    await d.getByRole('button', { name: 'Send' }).click();
    const refusal = d.getByRole('alert').filter({ hasText: 'The API refused the call' });
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('HTTP 403');
    expect(await refusal.textContent()).toContain('tenant_inactive');
    await shot(d, '15-playground-refused');
    // The overview's banner (of the account as loaded with the page) says it in words, not with the
    // status code.
    await go(d, '/overview');
    const banner = d.getByRole('alert').filter({ hasText: 'suspended' });
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/^Account suspended\. API calls/);
    await shot(d, '15b-overview-suspended');
  });

  it('moves a canary weight on the models page (or says the catalog admin is not there yet)', async () => {
    const { page } = ops;
    await nav(page, 'Models');
    if (has('put', '/admin/models/{model}/traffic')) {
      // A canary: one tenth of image-moderation's unpinned traffic to mobilenet-v2-mid, by keyboard.
      const section = page.getByRole('region', { name: 'image-moderation' });
      const slider = section.getByRole('slider', { name: 'mobilenet-v2-mid' });
      await slider.focus();
      for (let i = 0; i < 11; i++) await page.keyboard.press('ArrowRight');
      expect(await section.locator('output').allTextContents()).toEqual(['90.1%', '9.9%', '0%']);
      const saved = page.waitForResponse((r) => r.url().endsWith('/admin/models/image-moderation/traffic'));
      await section.getByRole('button', { name: 'Save traffic' }).click();
      const answer = await saved;
      expect(answer.status()).toBe(200);
      expect(((await answer.json()) as { traffic: Record<string, number> }).traffic).toEqual({
        'mobilenet-v2': 100,
        'mobilenet-v2-mid': 11,
      });
    } else {
      await page.getByText('Catalog administration: not available yet').waitFor();
      expect(await page.getByText('GET /admin/models').count()).toBe(1);
    }
    await shot(page, '23-operator-models');
  });

  it('shows the suspension in the audit log', async () => {
    const { page } = ops;
    await nav(page, 'Audit log');
    const row = page.getByRole('row', { name: /tenant\.suspend/ });
    await row.waitFor();
    expect(await row.textContent()).toContain(tenantId);
    expect(await row.textContent()).toContain(OPERATOR.email);
    expect(await row.textContent()).toContain('suspended');
    if (has('put', '/admin/models/{model}/traffic')) {
      const canary = page.getByRole('row', { name: /model\.traffic\.set/ });
      await canary.waitFor();
      expect(await canary.textContent()).toContain('image-moderation');
      expect(await canary.textContent()).toContain('mobilenet-v2-mid');
    }
    await shot(page, '24-audit');
    // At a laptop's 1000 px the entries wrap inside their cells: the table does not scroll sideways.
    const size = page.viewportSize();
    await page.setViewportSize({ width: 1000, height: 800 });
    const overflow = await page.evaluate<number>(
      "(() => { const w = document.querySelector('.table-wrap'); return w.scrollWidth - w.clientWidth; })()",
    );
    if (size) await page.setViewportSize(size);
    expect(overflow).toBeLessThanOrEqual(0);
  });

  it("lists the plans for operators (a bad value named on its field) and the developer's alerts", async () => {
    const { page } = ops;
    await nav(page, 'Plans');
    await page.getByRole('heading', { name: /Pay as you go/ }).waitFor();
    const rpm = page.locator('#free-requests_per_minute');
    expect(await rpm.inputValue()).toBe('60');
    await rpm.fill('0');
    await page.getByRole('button', { name: 'Save Free' }).click();
    await page.locator('#free-requests_per_minute-error').waitFor();
    expect(await rpm.getAttribute('aria-invalid')).toBe('true');
    await shot(page, '25-operator-plans');
    const d = dev.page;
    await nav(d, 'Alerts');
    await d.getByRole('heading', { name: 'Usage alerts' }).waitFor();
    await d.getByLabel('Your monthly spend cap (USD)').waitFor();
    await d.getByRole('heading', { name: 'History' }).waitFor();
    await shot(d, '16-alerts');
  });

  it('works at 375 px: no sideways scrolling, the menu opens from a button', async () => {
    const small = await chrome.open({ width: 375, height: 760 });
    const { page } = small;
    await go(page, '/login');
    await page.getByLabel('Email').fill(DEV.email);
    await page.getByLabel('Password').fill(DEV.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/overview$/);
    await page.getByRole('heading', { name: /Welcome/ }).waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await shot(page, '30-mobile-overview');
    await page.getByRole('button', { name: 'Open menu' }).click();
    await page.getByRole('navigation').getByRole('link', { name: 'API keys' }).click();
    await page
      .getByRole('row', { name: /laptop/ })
      .first()
      .waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await shot(page, '31-mobile-keys');
    // A fresh session holds no API key: the Models page reads the catalog with the session.
    await page.getByRole('button', { name: 'Open menu' }).click();
    await page.getByRole('navigation').getByRole('link', { name: 'Models' }).click();
    await page.getByRole('heading', { name: 'chat', exact: true }).waitFor();
    await page.getByRole('rowheader', { name: /chat@tiny-1/ }).waitFor();
    expect(await page.getByRole('heading', { name: 'Choose an API key' }).count()).toBe(0);
    await shot(page, '32-mobile-models');
    expect(small.problems).toEqual([]);
  });

  it('shows plans and model prices to a visitor with no account, from the login page', async () => {
    const visitor = await chrome.open({ width: 375, height: 760 });
    const { page } = visitor;
    await go(page, '/login');
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    await page.getByRole('link', { name: 'Pricing' }).click();
    await page.waitForURL(/\/pricing$/);
    await page.getByRole('heading', { name: 'Pricing' }).waitFor();
    await page.getByRole('rowheader', { name: 'Free' }).waitFor();
    const tiny = page.getByRole('row', { name: /chat@tiny-1/ });
    await tiny.getByText('per 1M input tokens').waitFor();
    await tiny.getByRole('cell', { name: '2,048 tokens, up to 512 out' }).waitFor();
    expect(await page.getByRole('link', { name: 'Sign up free' }).getAttribute('href')).toBe('/signup');
    // Still a visitor: nothing asked for a login, and the page fits a phone.
    expect(page.url()).toMatch(/\/pricing$/);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await shot(page, '33-mobile-pricing');
    expect(visitor.problems).toEqual([]);
  });

  it('saw no page errors, CSP violations or console errors', () => {
    expect(dev.problems).toEqual([]);
    expect(ops.problems).toEqual([]);
  });
});
