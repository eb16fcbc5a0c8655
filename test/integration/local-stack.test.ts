import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStores } from '#api/wiring/deps';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';

const silent = createLogger('silent');

async function sentiment(stack: LocalStack, key: string, input: string | string[]) {
  return fetch(`${stack.url}/v1/text/sentiment`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'sentiment', input }),
  });
}

describe('the local stack, in memory', () => {
  let stack: LocalStack;
  let key: string;
  beforeAll(async () => {
    stack = await startLocalStack(
      loadConfig({ PORT: '0', TOLLGATE_IN_MEMORY: 'true', STAGE: 'itest' }),
      silent,
    );
    key = stack.demo.secret!;
  });
  afterAll(() => stack?.stop());

  it('answers /health once every part answers, and seeds a demo key shown once', async () => {
    const res = await fetch(`${stack.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', components: { dynamodb: 'ok', models: 'ok' } });
    expect(key).toMatch(/^tg_live_/);
  });

  it('N concurrent requests make exactly N usage events, and the aggregates equal their sum', async () => {
    const n = 60;
    const texts = Array.from({ length: n }, (_, i) => `request number ${i} is ${'very '.repeat(i % 7)}good`);
    const responses = await Promise.all(texts.map((t) => sentiment(stack, key, t)));
    const bodies = (await Promise.all(
      responses.map(async (r) => {
        expect(r.status).toBe(200);
        return r.json();
      }),
    )) as { id: string; usage: { input_tokens: number } }[];
    const ids = new Set(bodies.map((b) => b.id));
    expect(ids.size).toBe(n);
    const servedTokens = bodies.reduce((s, b) => s + b.usage.input_tokens, 0);

    // The report reads the aggregates: the stream consumer's, applied here up to now.
    await stack.drainUsage();
    const usage = (await (
      await fetch(`${stack.url}/v1/usage`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { totals: { requests: number; input_tokens: number; cost_usd: string } };
    expect(usage.totals.requests).toBe(n);
    expect(usage.totals.input_tokens).toBe(servedTokens);
    expect(usage.totals.cost_usd).toBe(`0.${String(servedTokens * 100).padStart(9, '0')}`);
  });

  it('a refused request is not metered', async () => {
    await stack.drainUsage();
    const before = (await (
      await fetch(`${stack.url}/v1/usage`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { totals: { requests: number } };
    expect((await sentiment(stack, key, '')).status).toBe(400);
    // One character changed (never to itself: a key may already end in 'x').
    const wrong = `${key.slice(0, -1)}${key.endsWith('x') ? 'y' : 'x'}`;
    expect((await sentiment(stack, wrong, 'fine')).status).toBe(401);
    await stack.drainUsage();
    const after = (await (
      await fetch(`${stack.url}/v1/usage`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { totals: { requests: number } };
    expect(after.totals.requests).toBe(before.totals.requests);
  });
});

describe('the local stack, on disk', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-disk-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps tenants, keys and usage across a restart, and seeds only once', async () => {
    // No timer flush during the test: the model health counts reach the store on the clean stop.
    const config = loadConfig({ PORT: '0', DATA_DIR: dir, STAGE: 'itest', HEALTH_FLUSH_MS: '300000' });
    const first = await startLocalStack(config, silent);
    const key = first.demo.secret!;
    expect((await sentiment(first, key, 'a lovely day')).status).toBe(200);
    await first.stop();

    const second = await startLocalStack(config, silent);
    try {
      expect(second.demo.secret).toBeNull();
      expect(second.demo.tenantId).toBe(first.demo.tenantId);
      expect((await sentiment(second, key, 'still works')).status).toBe(200);
      // Both requests' records, the first's from before the restart too, applied by the consumer.
      await second.drainUsage();
      const usage = (await (
        await fetch(`${second.url}/v1/usage`, { headers: { authorization: `Bearer ${key}` } })
      ).json()) as { totals: { requests: number } };
      expect(usage.totals.requests).toBe(2);
      const stores = createStores({ ...config, DYNAMODB_ENDPOINT: second.dynamoEndpoint });
      const today = new Date().toISOString().slice(0, 10);
      const health = await stores.modelHealth.range(today, today);
      expect(health.map((h) => [h.modelVersion.split('@')[0], h.requests, h.succeeded])).toEqual([
        ['sentiment', 1, 1],
      ]);
      stores.dynamo.client.destroy();
    } finally {
      await second.stop();
    }
  });
});

describe('npm start as a process', () => {
  let child: ChildProcess | undefined;
  let dir: string;
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const pgrep = async (...args: string[]) => {
    const out = await new Promise<string>((res) => {
      const p = spawn('pgrep', args);
      let s = '';
      p.stdout.on('data', (d) => {
        s += d;
      });
      p.on('close', () => res(s));
    });
    return out.split('\n').filter(Boolean).map(Number);
  };

  it('prints what is where, and leaves no java or runtime behind when killed with SIGKILL', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-start-'));
    child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
      // A hub that cannot be reached: the machine is offline as far as model downloads go.
      env: {
        ...process.env,
        PORT: '0',
        DATA_DIR: dir,
        LOG_LEVEL: 'silent',
        HF_ENDPOINT: 'http://127.0.0.1:9',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    const deadline = Date.now() + 60_000;
    while (!out.includes('Try:') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(out).toContain('Tollgate is running.');
    expect(out).toMatch(/DynamoDB\s+http:\/\/127\.0\.0\.1:\d+ {2}\(data in /);
    expect(out).toMatch(/Model runtime\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toMatch(/Demo API key\s+tg_live_/);
    // What `chat` is, and how to get the real model, in one line; then why it could not be fetched.
    expect(out).toMatch(
      /Chat\s+`chat` is chat@tiny-1, the offline test model \(gibberish\) until HuggingFaceTB\/SmolLM2-360M-Instruct is fetched/,
    );
    while (!out.includes('Chat model') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(
      /Chat model\s+offline \(could not reach 127\.0\.0\.1:9 .*`chat` stays chat@tiny-1.*npm run models:pull -- HuggingFaceTB\/SmolLM2-360M-Instruct/,
    );
    const url = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1];
    expect((await fetch(`${url}/health`)).status).toBe(200);

    // java and its watchdog (their command lines name the data folder) and every child of the
    // server (the runtime).
    const java = await pgrep('-f', `java.*${dir}`);
    const children = await pgrep('-P', String(child.pid));
    expect(java.length).toBeGreaterThanOrEqual(1);
    expect(children.length).toBeGreaterThanOrEqual(2);
    const all = [...java, ...children];
    child.kill('SIGKILL');
    const gone = Date.now() + 15_000;
    while (all.some(alive) && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
    expect(all.filter(alive)).toEqual([]);
  });
});
