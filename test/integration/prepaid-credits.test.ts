import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stores } from '#api/wiring/deps';
import type { LocalStack } from '../../local/stack';
import { issueApiKey } from '../../shared/auth/issue-api-key';
import { newId } from '../../shared/ids';
import { type OperatorStack, startOperatorStack } from '../support/operator-stack';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const OPERATOR = { email: 'credit-ops@tollgate.example', password: 'operator password 1' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nano = (usd: string) => Math.round(Number(usd) * 1e9);

type Credits = {
  balance_usd: string;
  available_usd: string;
  by_kind: { paid: string; promotional: string; trial: string };
  entries: { type: string; amount_usd: string }[];
};

/**
 * The issue's concurrency check, over HTTP against the whole local stack (DynamoDB Local, the model
 * runtime with chat@tiny-1): 200 concurrent streamed chats of a prepaid tenant against a balance of
 * a few cents never take the balance below zero, every answer is paid for, and the ledger equals
 * the credits used to the unit.
 */
describe('prepaid credits on the local stack', () => {
  let stack: LocalStack;
  let stores: Stores;
  let token: string;
  let running: OperatorStack | undefined;
  beforeAll(async () => {
    running = await startOperatorStack('icredit', OPERATOR);
    ({ stack, stores, operatorToken: token } = running);
  });
  afterAll(async () => {
    await running?.close();
  });

  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${stack.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const chat = (key: string, i: number) =>
    fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'chat@tiny-1',
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: 32,
        messages: [{ role: 'user', content: `Tell me something, number ${i}.` }],
      }),
    });

  it('200 concurrent streamed chats against a few cents: balance >= 0, every answer paid, ledger = credits used', async () => {
    // Prices high enough that a few cents pay for a handful of answers (an operator's price change).
    const priced = await admin('PUT', '/admin/models/chat/versions/tiny-1/prices', {
      prices_nano_usd: { input_tokens: 20_000, output_tokens: 150_000 },
    });
    expect(priced.status, await priced.clone().text()).toBeLessThan(300);

    const tenantId = newId('ten');
    await stores.tenants.create({
      id: tenantId,
      name: 'Prepaid',
      status: 'active',
      // Its limits allow 200 at once: only the balance stops requests.
      plan: 'enterprise',
      createdAt: new Date().toISOString(),
    });
    const { secret } = await issueApiKey(stores.apiKeys, { tenantId, name: 'prepaid' });
    const expires = new Date(Date.now() + 30 * 86_400_000).toISOString();
    for (const body of [
      { amount_usd: '0.03', kind: 'paid', expires_at: expires },
      { amount_usd: '0.01', kind: 'promotional', expires_at: expires },
    ]) {
      const res = await admin('POST', `/admin/tenants/${tenantId}/credits`, body);
      expect(res.status, await res.clone().text()).toBe(201);
    }
    expect(
      (await admin('PATCH', `/admin/tenants/${tenantId}/credits`, { billing_mode: 'prepaid' })).status,
    ).toBe(200);
    const granted = 40_000_000;

    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => chat(secret, i)));
    let served = 0;
    let reportedNano = 0;
    for (const res of answers) {
      const text = await res.text();
      if (res.status === 429) {
        const err = JSON.parse(text) as { error: { code: string } };
        expect(err.error.code).toBe('insufficient_balance');
        expect(res.headers.get('x-should-retry')).toBe('false');
        continue;
      }
      expect(res.status, text).toBe(200);
      // Every stream that was answered ends with its usage and [DONE]: paid for.
      expect(text.trimEnd().endsWith('data: [DONE]'), text.slice(-300)).toBe(true);
      const usage = [...text.matchAll(/"cost_usd":"([0-9.]+)"/g)].at(-1);
      expect(usage, text.slice(-300)).toBeTruthy();
      reportedNano += nano(usage![1]!);
      served++;
    }
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThan(200);

    // The ledger (usage records admitted against the balance) is what the clients were told.
    const records = await stores.usage.listEvents(tenantId);
    expect(records).toHaveLength(served);
    expect(records.every((r) => r.prepaid === true)).toBe(true);
    const usedNano = records.reduce((s, r) => s + r.costNanoUsd, 0);
    expect(usedNano).toBe(reportedNano);
    expect(usedNano).toBeLessThanOrEqual(granted);

    // The instance gives back its idle lease on its next request: then the counter is exact.
    await sleep(stack.config.QUOTA_LEASE_IDLE_MS + 500);
    await chat(secret, 999).then((r) => r.text());
    await sleep(500);
    const after = await stores.usage.listEvents(tenantId);
    const used = after.reduce((s, r) => s + r.costNanoUsd, 0);

    const view = (await (await admin('GET', `/admin/tenants/${tenantId}/credits`)).json()) as Credits;
    expect(nano(view.balance_usd)).toBe(granted - used);
    expect(nano(view.balance_usd)).toBeGreaterThanOrEqual(0);
    expect(nano(view.available_usd)).toBe(granted - used);
    // Promotional burns first.
    expect(nano(view.by_kind.promotional)).toBe(Math.max(0, 10_000_000 - used));

    // Once the records are final the ledger burns them: its entries sum to the balance, its burns
    // to the credits used, to the nano-dollar.
    const final = new Date(
      Date.now() + stack.config.MODEL_TIMEOUT_MS + stack.config.RESERVATION_GRACE_MS + 20_000,
    );
    const s = await stores.quotas.credits.statement(tenantId, final);
    expect(s.pendingNanoUsd).toBe(0);
    expect(s.balance?.burnedNanoUsd).toBe(used);
    expect(s.balanceNanoUsd).toBe(granted - used);
    expect(s.balance?.availableNanoUsd).toBe(granted - used);
    const page = await stores.quotas.credits.entries(tenantId, { limit: 200 });
    if (page === 'bad_cursor') throw new Error('bad cursor');
    const burns = page.entries.filter((e) => e.type === 'burn').reduce((t, e) => t - e.amountNanoUsd, 0);
    expect(burns).toBe(used);
    expect(page.entries.reduce((t, e) => t + e.amountNanoUsd, 0)).toBe(granted - used);
  });

  it('npm run admin -- credits: grant, switch to prepaid, show; bad input changes nothing', async () => {
    const tenantId = newId('ten');
    await stores.tenants.create({
      id: tenantId,
      name: 'CLI credit',
      status: 'active',
      plan: 'payg',
      createdAt: new Date().toISOString(),
    });
    const admin = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'local/admin.ts', 'credits', ...args, '--tenant', tenantId], {
        cwd: REPO,
        env: {
          ...process.env,
          DYNAMODB_ENDPOINT: stack.config.DYNAMODB_ENDPOINT!,
          STAGE: stack.config.STAGE,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
      });
    const refused = await admin(
      'grant',
      '--amount',
      '-1',
      '--kind',
      'paid',
      '--expires',
      '2099-01-01T00:00:00Z',
    ).catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 2 });
    expect((refused as { stderr: string }).stderr).toMatch(/--amount/);
    const granted = await admin(
      'grant',
      '--amount',
      '1.25',
      '--kind',
      'promotional',
      '--expires',
      '2099-01-01T00:00:00Z',
      '--note',
      'cli',
    );
    expect(JSON.parse(granted.stdout)).toMatchObject({
      object: 'credit_grant',
      kind: 'promotional',
      amount_usd: '1.250000000',
    });
    expect(JSON.parse((await admin('mode', '--to', 'prepaid')).stdout)).toMatchObject({ status: 'changed' });
    const shown = JSON.parse((await admin('show')).stdout) as {
      balance_usd: string;
      by_kind: Record<string, string>;
    };
    expect(shown).toMatchObject({ balance_usd: '1.250000000', by_kind: { promotional: '1.250000000' } });
    expect((await stores.tenants.get(tenantId))?.billingMode).toBe('prepaid');
  });
});
