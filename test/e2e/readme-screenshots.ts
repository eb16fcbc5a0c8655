/**
 * The console pictures of docs/consoles.md (and the README's one), from a stack with realistic
 * data: `npm run screenshots`.
 *
 * Starts the local stack in memory, signs a developer up through the API (pay-as-you-go, an own
 * spend cap), backfills earlier days of this month into the usage ledger and the month's quota
 * counters (real calls can only be today), makes real calls (chat, sentiment, image moderation,
 * OCR) with two keys, sets a canary on image-moderation, then photographs both consoles in
 * Chromium into docs/screenshots.
 * Not a test: it checks nothing beyond each page having rendered what it shows.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { createStores } from '#api/wiring/deps';
import { startLocalStack } from '../../local/stack';
import { buildConsole } from '../../local/web-build';
import { loadConfig } from '../../shared/config';
import { keys } from '../../shared/db/keys';
import { tableNames } from '../../shared/db/tables';
import { newId } from '../../shared/ids';
import { createLogger } from '../../shared/logger';
import { costNanoUsd } from '../../shared/metering/pricing';
import { browser, testPng } from './browser';

process.env.RUNTIME_MODELS =
  'sentiment,chat,image-moderation@mobilenet-v2,image-moderation@mobilenet-v2-mid,ocr@tesseract-5';

const OUT = join(process.cwd(), 'docs', 'screenshots');
const OPERATOR = { email: 'ops@tollgate.example', password: 'operator password 1' };
const DEV = {
  name: 'Ada Lovelace',
  company: 'Analytical Engines',
  email: 'ada@engines.example',
  password: 'correct horse battery',
};
const WIDTH = 1000;

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log(
      'usage: npm run screenshots\n' +
        '  Builds the console, starts the local stack in memory with realistic data and saves the\n' +
        '  pictures of both consoles to docs/screenshots. Takes no options.',
    );
    return;
  }
  // The pictures are of the console these sources build.
  await buildConsole({ force: true });
  const stack = await startLocalStack(
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
  const chrome = browser();
  try {
    for (let i = 0; i < 240 && (await fetch(`${stack.url}/health`)).status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 500));
    }
    const call = async (path: string, init: { token?: string; json?: unknown; method?: string } = {}) => {
      const res = await fetch(`${stack.url}${path}`, {
        method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
        headers: {
          'content-type': 'application/json',
          origin: stack.url,
          ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        },
        body: init.json === undefined ? undefined : JSON.stringify(init.json),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${init.method ?? 'POST'} ${path}: ${res.status} ${text}`);
      return text ? (JSON.parse(text) as Record<string, unknown>) : {};
    };
    const login = async (email: string, password: string) =>
      String((await call('/auth/login', { json: { email, password } })).access_token);

    // The developer, through the API as the console would do it.
    await call('/auth/signup', { json: DEV });
    const mail = stack.outbox.list(DEV.email).find((m) => m.kind === 'verify_email');
    const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail?.text ?? '')?.[1];
    await call('/auth/verify', { json: { token } });
    const dev = await login(DEV.email, DEV.password);
    const tenantId = String(((await call('/account', { token: dev })).tenant as { id: string }).id);
    const prod = await call('/account/keys', { token: dev, json: { name: 'production' } });
    const staging = await call('/account/keys', {
      token: dev,
      json: { name: 'staging', limits: { requests_per_minute: 30, monthly_spend_cap_usd: 5 } },
    });
    await call('/account/keys', { token: dev, json: { name: 'laptop' } });
    await call('/account/team/invitations', {
      token: dev,
      json: { email: 'grace@engines.example', role: 'developer' },
    });

    // The operator: the tenant on pay-as-you-go, a canary on image-moderation (one in ten).
    const op = await login(OPERATOR.email, OPERATOR.password);
    await call(`/admin/tenants/${tenantId}`, { token: op, method: 'PATCH', json: { plan: 'payg' } });
    await call('/account/limits', { token: dev, method: 'PATCH', json: { spend_cap_usd: 25 } });
    await call('/admin/models/image-moderation/traffic', {
      token: op,
      method: 'PUT',
      json: { weights: { 'mobilenet-v2': 90, 'mobilenet-v2-mid': 10 } },
    });

    // Earlier days of this month, written to the ledger as the gateway writes them.
    const stores = createStores({
      ...stack.config,
      DYNAMODB_ENDPOINT: stack.dynamoEndpoint,
      SAGEMAKER_ENDPOINT: stack.runtimeUrl,
    });
    const catalog = await stores.catalog.load();
    const price = (model: string, version: string) => catalog.models.get(model)?.versions.get(version);
    const today = new Date();
    const mix: [string, string, number, number, number][] = [
      // model, version, requests per day (base), input tokens per request, output tokens / images
      ['chat', 'tiny-1', 40, 180, 260],
      ['chat', 'smollm2-135m', 12, 220, 300],
      ['sentiment', 'v1', 60, 35, 0],
      ['image-moderation', 'mobilenet-v2', 25, 0, 1],
      ['image-moderation', 'mobilenet-v2-mid', 3, 0, 1],
      ['ocr', 'tesseract-5', 8, 0, 1],
    ];
    const keyIds = [String(prod.id), String(staging.id)];
    const month = { input_tokens: 0, output_tokens: 0, images: 0, costNanoUsd: 0 };
    for (let d = 1; d < today.getUTCDate(); d++) {
      const day = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), d, 12));
      const weekday = day.getUTCDay();
      const wave = (weekday === 0 || weekday === 6 ? 0.4 : 1) * (0.7 + 0.3 * Math.sin(d / 3));
      for (const [model, version, base, input, other] of mix) {
        const v = price(model, version);
        if (!v) continue;
        // The canary version only since the middle of the month.
        if (version === 'mobilenet-v2-mid' && d < 15) continue;
        const requests = Math.max(1, Math.round(base * wave));
        for (let r = 0; r < requests; r++) {
          const units =
            model === 'chat'
              ? { input_tokens: input + ((r * 37) % 90), output_tokens: other + ((r * 53) % 120) }
              : model === 'sentiment'
                ? { input_tokens: input + ((r * 7) % 20) }
                : { images: 1 };
          const at = new Date(day.getTime() + r * 61_000).toISOString();
          const cost = costNanoUsd(units, v.prices);
          for (const [u, n] of Object.entries(units)) month[u as keyof typeof month] += n;
          month.costNanoUsd += cost;
          await stores.usage.record({
            requestId: newId('req', Date.parse(at)),
            tenantId,
            keyId: keyIds[r % 3 === 2 ? 1 : 0]!,
            model,
            version,
            units,
            costNanoUsd: cost,
            priceBook: v.priceBook,
            latencyMs: 40 + (r % 30),
            status: 'succeeded',
            at,
          });
        }
      }
    }

    // The month's quota counters, which the gateway's settlement moves with each event.
    await stores.dynamo.doc.send(
      new UpdateCommand({
        TableName: tableNames(stack.config.STAGE).main,
        Key: keys.quotaMonth(tenantId, today.toISOString().slice(0, 7)),
        UpdateExpression: 'ADD input_tokens :i, output_tokens :o, images :m, costNanoUsd :c',
        ExpressionAttributeValues: {
          ':i': month.input_tokens,
          ':o': month.output_tokens,
          ':m': month.images,
          ':c': month.costNanoUsd,
        },
      }),
    );

    // Real calls today with both keys: past the backfilled month, they raise the usage alerts.
    const png = `data:image/png;base64,${testPng(160, 120).toString('base64')}`;
    const ocrPng = await sharp(
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="520" height="120"><rect width="100%" height="100%" fill="white"/>' +
          '<text x="20" y="75" font-family="DejaVu Sans" font-size="42">INVOICE 2026-11</text></svg>',
      ),
    )
      .png()
      .toBuffer();
    for (const [i, key] of [prod.secret, staging.secret, prod.secret].entries()) {
      const k = String(key);
      await call('/v1/chat/completions', {
        token: k,
        json: {
          model: 'chat',
          messages: [{ role: 'user', content: `Write a haiku about metering, take ${i + 1}.` }],
          max_tokens: 24,
        },
      });
      await call('/v1/text/sentiment', { token: k, json: { model: 'sentiment', input: 'I love this API.' } });
      await call('/v1/images/moderations', { token: k, json: { model: 'image-moderation', image: png } });
    }
    // The demo tenant the stack seeds calls too, so the operator sees more than one tenant.
    for (let i = 0; i < 4 && stack.demo.secret; i++) {
      await call('/v1/text/sentiment', {
        token: stack.demo.secret,
        json: { model: 'sentiment', input: `Demo call ${i + 1}: works fine.` },
      });
    }
    await call('/v1/images/ocr', {
      token: String(prod.secret),
      json: { model: 'ocr@tesseract-5', image: `data:image/png;base64,${ocrPng.toString('base64')}` },
    });

    mkdirSync(OUT, { recursive: true });
    const save = async (page: Page, name: string, opts: { fullPage?: boolean } = {}) => {
      // Toasts gone, charts drawn.
      await page
        .locator('.toast')
        .first()
        .waitFor({ state: 'detached', timeout: 10_000 })
        .catch(() => {});
      await page.waitForTimeout(400);
      const png = await page.screenshot({ fullPage: opts.fullPage ?? true });
      await sharp(png)
        .png({ palette: true, quality: 90, compressionLevel: 9 })
        .toFile(join(OUT, `${name}.png`));
      process.stdout.write(`docs/screenshots/${name}.png\n`);
    };
    const go = (page: Page, path: string) => page.goto(`${stack.url}${path}`);
    const signIn = async (page: Page, email: string, password: string, landing: RegExp) => {
      await go(page, '/login');
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL(landing);
    };

    // The developer console.
    const { page } = await chrome.open({ width: WIDTH, height: 720 });
    await signIn(page, DEV.email, DEV.password, /\/overview$/);
    await page.getByRole('heading', { name: `Welcome, ${DEV.name}` }).waitFor();
    await page.locator('.meter').first().waitFor();
    await save(page, 'developer-overview');
    await go(page, '/keys');
    await page.getByRole('row', { name: /production/ }).waitFor();
    await page.getByRole('button', { name: 'Create key' }).first().click();
    await page.getByRole('dialog').getByLabel('Name').fill('ci');
    await page.getByRole('dialog').getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('dialog').getByLabel('API key secret').waitFor();
    await save(page, 'developer-new-key', { fullPage: false });
    await page.getByRole('dialog').getByRole('button', { name: 'Use in the playground' }).click();
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Edit the limits of staging' }).click();
    await page.getByRole('dialog').getByLabel('Requests per minute').waitFor();
    await save(page, 'developer-key-limits', { fullPage: false });
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    await go(page, '/playground');
    await page.getByLabel('Message').fill('Write a haiku about metered APIs.');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('.facts').getByText(/chat@/).waitFor();
    await save(page, 'developer-playground');
    await page.getByRole('tab', { name: 'Image moderation' }).click();
    await page
      .getByLabel('Image', { exact: true })
      .setInputFiles({ name: 'gradient.png', mimeType: 'image/png', buffer: testPng(160, 120) });
    await page.getByRole('button', { name: 'Moderate image' }).click();
    await page
      .getByTestId('image-result')
      .getByText(/^(flagged|not flagged)$/i)
      .waitFor();
    await save(page, 'developer-image');
    await go(page, '/usage');
    await page.getByTestId('usage-charts').waitFor();
    await page.setViewportSize({ width: WIDTH, height: 1300 });
    await save(page, 'developer-usage', { fullPage: false });
    await page.setViewportSize({ width: WIDTH, height: 720 });
    await go(page, '/models');
    await page.getByRole('heading', { name: 'chat', exact: true }).waitFor();
    await save(page, 'developer-models');
    await go(page, '/alerts');
    await page.getByRole('table', { name: /Usage alerts/ }).waitFor();
    await save(page, 'developer-alerts');

    const small = await chrome.open({ width: 375, height: 760 });
    await signIn(small.page, DEV.email, DEV.password, /\/overview$/);
    await small.page.locator('.meter').first().waitFor();
    await save(small.page, 'developer-mobile');

    // The operator console.
    const ops = (await chrome.open({ width: WIDTH, height: 720 })).page;
    await signIn(ops, OPERATOR.email, OPERATOR.password, /\/operator$/);
    await ops.getByTestId('platform-charts').waitFor();
    await save(ops, 'operator-overview');
    await go(ops, `/operator/tenants/${tenantId}`);
    await ops.getByTestId('tenant-usage-charts').waitFor();
    await ops.getByLabel('Requests / minute').fill('120');
    await ops.getByRole('button', { name: 'Save overrides' }).click();
    await ops.getByTestId('applies-requests_per_minute').filter({ hasText: /^120$/ }).waitFor();
    await save(ops, 'operator-tenant');
    await go(ops, '/operator/plans');
    await ops.getByRole('heading', { name: /Pay as you go/ }).waitFor();
    await save(ops, 'operator-plans', { fullPage: false });
    await go(ops, '/operator/models');
    await ops.getByRole('region', { name: 'image-moderation' }).waitFor();
    await save(ops, 'operator-models');
    await go(ops, '/operator/audit');
    await ops.getByRole('row', { name: /tenant\.limits/ }).waitFor();
    await save(ops, 'operator-audit');
  } finally {
    await chrome.close();
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
