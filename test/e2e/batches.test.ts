import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { type Browser, browser, shot } from './browser';

// Only the model the batch calls.
process.env.RUNTIME_MODELS = 'sentiment';

const OWNER = { email: 'lead@batches.example', password: 'a batch of passwords' };
const OPERATOR = { email: 'ops@batches.example', password: 'operator password 1' };

const reviews = ['I love how fast this is.', 'This is terrible and slow.', 'Great support, lovely team.'];
const jsonl = `${reviews
  .map((input, i) =>
    JSON.stringify({
      custom_id: `review-${i}`,
      method: 'POST',
      url: '/v1/text/sentiment',
      body: { model: 'sentiment', input },
    }),
  )
  .join('\n')}\n`;

/**
 * A developer runs a small sentiment batch from the Batches page, in Debian's Chromium against the
 * local stack (its S3-compatible server and in-process batch worker): a bad file is refused naming
 * its line, the good one is uploaded with an endpoint and a key, its progress reaches completed,
 * and its output downloads with an answer per line. The operator's Batches page then shows the
 * version that served it and the lines it answered in the last hour.
 */
describe('batches in the consoles', () => {
  let stack: LocalStack;
  let chrome: Browser;
  let page: Awaited<ReturnType<Browser['open']>>['page'];
  let problems: string[];
  let token = '';
  let batchId = '';

  const api = async (path: string, init: { method?: string; json?: unknown } = {}) =>
    fetch(`${stack.url}${path}`, {
      method: init.method ?? (init.json !== undefined ? 'POST' : 'GET'),
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
    });

  const logIn = async (who: { email: string; password: string }, lands: RegExp) => {
    await page.goto(`${stack.url}/login`);
    await page.getByLabel('Email').fill(who.email);
    await page.getByLabel('Password').fill(who.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(lands);
  };

  beforeAll(async () => {
    stack = await startLocalStack(
      loadConfig({
        PORT: '0',
        TOLLGATE_IN_MEMORY: 'true',
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
    // The owner signs up and verifies through the API (the sign-up journey is consoles.test.ts's).
    expect((await api('/auth/signup', { json: { ...OWNER, name: 'Lead', company: 'Batches' } })).status).toBe(
      202,
    );
    const verify = stack.outbox.latest(OWNER.email, 'verify_email')!.text;
    const verifyToken = /[?&]token=([A-Za-z0-9_-]+)/.exec(verify)![1];
    expect((await api('/auth/verify', { json: { token: verifyToken } })).status).toBe(200);
    const login = await api('/auth/login', { json: OWNER });
    token = ((await login.json()) as { access_token: string }).access_token;
    expect((await api('/account/keys', { json: { name: 'reviews' } })).status).toBe(201);
    chrome = browser();
    ({ page, problems } = await chrome.open());
  });

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail' && page) await shot(page, `failed-batches-${task.name.slice(0, 40)}`);
  });

  afterAll(async () => {
    await chrome?.close();
    await stack?.stop();
  });

  it('uploads a sentiment batch, follows it to completed and downloads its output', async () => {
    await logIn(OWNER, /\/overview$/);
    await page.locator('#primary-nav').getByRole('link', { name: 'Batches' }).click();
    await page.waitForURL(/\/batches$/);
    await page.getByRole('heading', { name: 'Batches', level: 1 }).waitFor();
    await page.getByText('No batches yet').waitFor();

    // A bad line is named, and nothing is created.
    const bad = `${jsonl}${JSON.stringify({ custom_id: 'x', method: 'POST', url: '/v1/text/sentiment', body: { model: 'sentiment' } })}\n`;
    await page
      .getByLabel('Input file (JSONL)')
      .setInputFiles({ name: 'bad.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(bad) });
    await page.getByLabel('Endpoint').selectOption('/v1/text/sentiment');
    expect(await page.getByLabel('Bill to API key').locator('option:checked').textContent()).toContain(
      'reviews',
    );
    await page.getByRole('button', { name: 'Upload and start' }).click();
    const fileError = page.locator('#batch-file-error');
    await fileError.waitFor();
    expect(await fileError.textContent()).toContain('Line 4');
    await shot(page, 'batches-bad-line');
    expect(((await (await api('/account/batches')).json()) as { data: unknown[] }).data).toEqual([]);

    await page
      .getByLabel('Input file (JSONL)')
      .setInputFiles({ name: 'reviews.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(jsonl) });
    await page.getByRole('button', { name: 'Upload and start' }).click();
    const row = page.getByTestId('batches-table').locator('tbody tr').first();
    await row.waitFor();
    batchId = (await row.getAttribute('data-batch-id')) ?? '';
    expect(batchId).toMatch(/^batch_/);
    // The page polls while it runs: the status reaches completed without a reload.
    await row.getByText('completed', { exact: true }).waitFor({ timeout: 60_000 });
    const bar = row.getByRole('progressbar');
    expect(await bar.getAttribute('aria-valuenow')).toBe('3');
    expect(await bar.getAttribute('aria-valuemax')).toBe('3');
    await shot(page, 'batches-completed');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      row.getByRole('button', { name: 'Download output' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`${batchId}_output.jsonl`);
    const answers = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            custom_id: string;
            response: { status_code: number; body: { data: { label: string }[] } };
          },
      );
    expect(answers.map((a) => a.custom_id).sort()).toEqual(['review-0', 'review-1', 'review-2']);
    const label = (id: string) => answers.find((a) => a.custom_id === id)!.response.body.data[0]!.label;
    expect(answers.every((a) => a.response.status_code === 200)).toBe(true);
    expect(label('review-0')).toBe('positive');
    expect(label('review-1')).toBe('negative');
    // Nothing failed: no error file to download.
    expect(await row.getByRole('button', { name: 'Download errors' }).count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it("the operator's Batches page shows the version's throughput", async () => {
    ({ page, problems } = await chrome.open());
    await logIn(OPERATOR, /\/operator$/);
    await page.locator('#primary-nav').getByRole('link', { name: 'Batches' }).click();
    await page.waitForURL(/\/operator\/batches$/);
    await page.getByRole('heading', { name: 'Batches', level: 1 }).waitFor();
    const version = page.getByTestId('backlog-versions').getByRole('row', { name: /sentiment@v1/ });
    await version.waitFor();
    // Waiting 0, answered in the last 15 minutes 3, in the last hour 3.
    expect((await version.locator('td').allTextContents()).map((t) => t.trim())).toEqual(['0', '3', '3']);
    await page.getByText('No active batches').waitFor();
    await shot(page, 'operator-batches');
    expect(problems).toEqual([]);
  });
});
