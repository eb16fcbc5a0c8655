import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStores, type Stores } from '#api/wiring/deps';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { issueApiKey } from '../../shared/auth/issue-api-key';
import { loadConfig } from '../../shared/config';
import { newId } from '../../shared/ids';
import { createLogger } from '../../shared/logger';
import { reconcileMonth } from '../../shared/metering/reconcile';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CONCURRENCY = 6;

describe('the model runtime process killed mid-request', () => {
  let stack: LocalStack;
  let stores: Stores;
  const logs: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    });
    stack = await startLocalStack(
      loadConfig({ PORT: '0', TOLLGATE_IN_MEMORY: 'true', STAGE: 'irtkill', LOG_LEVEL: 'warn' }),
      createLogger('warn', sink),
      { print: () => {} },
    );
    stores = createStores(stack.config);
  });
  afterAll(async () => {
    stores?.dynamo.client.destroy();
    await stack?.stop();
  });

  async function healthy(deadlineMs: number): Promise<boolean> {
    const deadline = Date.now() + deadlineMs;
    while (Date.now() < deadline) {
      const res = await fetch(`${stack.url}/health`).catch(() => undefined);
      if (res?.status === 200) return true;
      await sleep(100);
    }
    return false;
  }

  it('in-flight requests are 502 model_unavailable and unbilled; the stack restarts the runtime; the ledger is exactly what was served', {
    timeout: 180_000,
  }, async () => {
    expect(await healthy(60_000)).toBe(true);
    const tenantId = newId('ten');
    await stores.tenants.create({
      id: tenantId,
      name: 'Runtime kill',
      status: 'active',
      plan: 'payg',
      createdAt: new Date().toISOString(),
      // As many in flight as the load below: a reservation the kill left behind would refuse a request.
      limitOverrides: {
        maxConcurrent: CONCURRENCY,
        requestsPerMinute: 100_000,
        tokensPerMinute: 100_000_000,
      },
    });
    const { secret } = await issueApiKey(stores.apiKeys, { tenantId, name: 'kill' });
    const post = (i: number, n: number) => {
      const chat = i % 2 === 0;
      return fetch(`${stack.url}${chat ? '/v1/chat/completions' : '/v1/text/sentiment'}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify(
          chat
            ? { model: 'chat', max_tokens: 256, messages: [{ role: 'user', content: `Talk ${i}.${n}` }] }
            : { model: 'sentiment', input: `request ${i}.${n} is good` },
        ),
      });
    };

    const served = new Set<string>();
    const failures = new Map<string, number>();
    let stop = false;
    let killedAt = Number.POSITIVE_INFINITY;
    let cutOff = 0;
    const loop = async (i: number) => {
      for (let n = 0; !stop; n++) {
        const began = Date.now();
        const res = await post(i, n);
        const body = (await res.json()) as { id?: string; error?: { code: string } };
        if (res.status === 200) served.add(body.id!);
        else {
          const key = `${res.status} ${body.error?.code}`;
          if (began < killedAt && body.error?.code === 'model_unavailable') cutOff++;
          failures.set(key, (failures.get(key) ?? 0) + 1);
          // Back off as a client would, rather than spin against a runtime that is restarting.
          await sleep(50);
        }
      }
    };
    const loops = Array.from({ length: CONCURRENCY }, (_, i) => loop(i));

    const deadline = Date.now() + 60_000;
    while (served.size < 20 && Date.now() < deadline) await sleep(20);
    expect(served.size).toBeGreaterThanOrEqual(20);
    const pid = stack.runtime!.pid();
    const servedBeforeKill = served.size;
    killedAt = Date.now();
    process.kill(pid, 'SIGKILL');

    // The stack notices and starts a new runtime on the same port; traffic is served again.
    while (
      (stack.runtime!.restarts() < 1 || served.size < servedBeforeKill + 20) &&
      Date.now() < deadline + 60_000
    )
      await sleep(50);
    stop = true;
    await Promise.all(loops);
    expect(stack.runtime!.restarts()).toBe(1);
    expect(stack.runtime!.pid()).not.toBe(pid);
    expect(served.size).toBeGreaterThanOrEqual(servedBeforeKill + 20);
    expect(logs.join('')).toContain('model runtime exited; restarting it');
    expect(logs.join('')).toContain('model runtime restarted');

    // What the kill cut off was refused as the runtime being unreachable (or still loading): 502 or 503, never billed.
    expect(failures.get('502 model_unavailable') ?? 0).toBeGreaterThan(0);
    // ...including requests that were already in flight when it died.
    expect(cutOff).toBeGreaterThan(0);
    for (const key of failures.keys())
      expect(['502 model_unavailable', '502 model_error', '503 model_busy', '503 model_loading']).toContain(
        key,
      );

    // The ledger is exactly the set of answers served: nothing lost, nothing doubled, no failure billed.
    const events = await stores.usage.listEvents(tenantId);
    expect(events.map((e) => e.requestId).sort()).toEqual([...served].sort());
    const month = new Date().toISOString().slice(0, 7);
    // The aggregates are the stream consumer's: applied here up to now before they are compared.
    await stack.drainUsage();
    expect(await reconcileMonth(stores.usage, tenantId, month)).toMatchObject({
      events: events.length,
      differences: [],
    });

    // Nothing held: as many requests at once as the tenant may have in flight are all admitted.
    const again = await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => post(1, 10_000 + i)));
    expect(again.map((r) => r.status)).toEqual(Array(CONCURRENCY).fill(200));
  });
});
