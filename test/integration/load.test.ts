import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStores, type Stores } from '#api/wiring/deps';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { issueApiKey } from '../../shared/auth/issue-api-key';
import { loadConfig } from '../../shared/config';
import { newId } from '../../shared/ids';
import { createLogger } from '../../shared/logger';
import { reconcileMonth } from '../../shared/metering/reconcile';

/**
 * How long the load runs: 10 s by default (CI), `TOLLGATE_LOAD_SECONDS=60` for the full run.
 * Bounded in count too, so a fast machine cannot turn it into a flood.
 */
const SECONDS = Number(process.env.TOLLGATE_LOAD_SECONDS ?? 10);
const MAX_REQUESTS = Number(process.env.TOLLGATE_LOAD_MAX_REQUESTS ?? 50_000);
/** Closed-loop clients: each sends its next request when the last one is answered. */
const CLIENTS = 16;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const nanos = (usd: string) => {
  const [whole = '0', frac = ''] = usd.split('.');
  return Number(whole) * 1e9 + Number(frac.padEnd(9, '0'));
};

interface Served {
  id: string;
  input: number;
  output: number;
  cost: number;
}

describe(`sustained load for ${SECONDS} s over loopback`, () => {
  let stack: LocalStack;
  let stores: Stores;
  beforeAll(async () => {
    stack = await startLocalStack(
      loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        TOLLGATE_IN_MEMORY: 'true',
        STAGE: 'iload',
        LOG_LEVEL: 'silent',
      }),
      createLogger('silent'),
      { print: () => {} },
    );
    stores = createStores(stack.config);
    // The runtime listens before its models are loaded: measure the stack once it is all up.
    const deadline = Date.now() + 90_000;
    while ((await fetch(`${stack.url}/health`)).status !== 200 && Date.now() < deadline) await sleep(100);
  });
  afterAll(async () => {
    stores?.dynamo.client.destroy();
    await stack?.stop();
  });

  it('loses and doubles nothing: the ledger is exactly the requests the client saw succeed', {
    timeout: SECONDS * 1000 + 180_000,
  }, async () => {
    expect(new URL(stack.url).hostname).toBe('127.0.0.1');
    const tenantId = newId('ten');
    await stores.tenants.create({
      id: tenantId,
      name: 'Load',
      status: 'active',
      plan: 'enterprise',
      createdAt: new Date().toISOString(),
      // Limits out of the way: this measures what the machine sustains, not a refusal.
      limitOverrides: {
        requestsPerMinute: 1_000_000,
        tokensPerMinute: 1_000_000_000,
        maxConcurrent: CLIENTS,
      },
    });
    const { secret } = await issueApiKey(stores.apiKeys, { tenantId, name: 'load' });
    const post = (i: number, n: number) => {
      // One request in eight is a short chat completion; the rest are sentiment.
      const chat = n % 8 === i % 8;
      return fetch(`${stack.url}${chat ? '/v1/chat/completions' : '/v1/text/sentiment'}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify(
          chat
            ? { model: 'chat', max_tokens: 12, messages: [{ role: 'user', content: `Load ${i}.${n}` }] }
            : { model: 'sentiment', input: `load request ${i}.${n} went well` },
        ),
      });
    };

    const served: Served[] = [];
    const failed = new Map<string, number>();
    let sent = 0;
    const once = async (i: number, n: number) => {
      sent++;
      // No client-side timeout: an answer the client gave up on could still be served and billed,
      // and the comparison below is about what the client saw.
      const res = await post(i, n);
      const body = (await res.json()) as {
        id: string;
        usage?: {
          input_tokens?: number;
          prompt_tokens?: number;
          completion_tokens?: number;
          cost_usd: string;
        };
        error?: { code: string };
      };
      if (res.status === 200 && body.usage) {
        served.push({
          id: body.id,
          input: body.usage.input_tokens ?? body.usage.prompt_tokens ?? 0,
          output: body.usage.completion_tokens ?? 0,
          cost: nanos(body.usage.cost_usd),
        });
      } else {
        const key = `${res.status} ${body.error?.code}`;
        failed.set(key, (failed.get(key) ?? 0) + 1);
        if (res.status === 503) await sleep(Number(res.headers.get('retry-after') ?? 1) * 100);
      }
    };
    // Warm-up, outside the clock but inside the ledger check: the first requests fill the caches
    // (key, tenant, catalog, plans) and wake the model's session and the store's JIT.
    const warmStarted = performance.now();
    for (const k of [0, 1])
      await Promise.all(Array.from({ length: CLIENTS }, (_, i) => once(i, 1_000_000 + k)));
    const warmSeconds = (performance.now() - warmStarted) / 1000;
    const servedWarm = served.length;

    const started = performance.now();
    const until = started + SECONDS * 1000;
    const client = async (i: number) => {
      for (let n = 0; performance.now() < until && sent < MAX_REQUESTS; n++) await once(i, n);
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
    const seconds = (performance.now() - started) / 1000;
    const timed = served.length - servedWarm;
    // The rate is reported, never asserted: timings belong to the benchmark, not to a test.
    console.log(
      `load: ${timed} served in ${seconds.toFixed(1)} s by ${CLIENTS} closed-loop clients` +
        ` = ${(timed / seconds).toFixed(0)} requests/s (after a ${warmSeconds.toFixed(1)} s warm-up of ${servedWarm});` +
        ` ${sent} sent in all; refused or failed: ${JSON.stringify(Object.fromEntries(failed))}`,
    );

    expect(served.length).toBeGreaterThan(0);
    // A refusal or a failure is allowed under load (and unbilled); a server error is not.
    for (const key of failed.keys()) expect(key).toMatch(/^(429|502|503|504) /);

    // The ledger holds exactly the ids the client saw succeed: none lost, none doubled, none extra.
    const events = await stores.usage.listEvents(tenantId);
    const ids = served.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(events.map((e) => e.requestId).sort()).toEqual([...ids].sort());

    // The aggregates (the stream consumer's, applied here up to now) equal the sums of what the answers said.
    await stack.drainUsage();
    const sum = (f: (s: Served) => number) => served.reduce((a, s) => a + f(s), 0);
    const usage = (await (
      await fetch(`${stack.url}/v1/usage`, { headers: { authorization: `Bearer ${secret}` } })
    ).json()) as {
      totals: { requests: number; input_tokens: number; output_tokens: number; cost_usd: string };
    };
    expect(usage.totals.requests).toBe(served.length);
    expect(usage.totals.input_tokens).toBe(sum((s) => s.input));
    expect(usage.totals.output_tokens).toBe(sum((s) => s.output));
    expect(nanos(usage.totals.cost_usd)).toBe(sum((s) => s.cost));
    const month = new Date().toISOString().slice(0, 7);
    expect(await reconcileMonth(stores.usage, tenantId, month, stores.platformUsage)).toMatchObject({
      events: served.length,
      differences: [],
    });

    // No reservation left behind: the tenant's whole concurrency is free again.
    const again = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => post(i, 1)));
    expect(again.map((r) => r.status)).toEqual(Array(CLIENTS).fill(200));
  });
});
