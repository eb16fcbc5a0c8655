import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stores } from '#api/wiring/deps';
import type { LocalStack } from '../../local/stack';
import { prepareApiKey } from '../../shared/auth/issue-api-key';
import { keys } from '../../shared/db/keys';
import { tableNames } from '../../shared/db/tables';
import { newId } from '../../shared/ids';
import { windowsAt } from '../../shared/quotas/windows';
import { type OperatorStack, startOperatorStack } from '../support/operator-stack';
import { parseSse } from '../support/sse';

const OPERATOR = { email: 'project-budget-ops@tollgate.example', password: 'operator password 1' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A streamed chat call as the OpenAI SDKs make it: a 503 that says `x-should-retry: true` (the store
 * was too busy to admit, nothing ran) is retried after its Retry-After; a 429 is final here.
 */
async function streamChat(url: string, key: string, i: number) {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'chat',
        max_tokens: 64,
        stream: true,
        messages: [{ role: 'user', content: `Say something, number ${i}.` }],
      }),
    });
    const body = await res.text();
    if (res.status !== 503 || res.headers.get('x-should-retry') !== 'true' || attempt === 5)
      return { status: res.status, body, retry: res.headers.get('x-should-retry') };
    await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
  }
}

describe('project budgets on the local stack', () => {
  let stack: LocalStack;
  let stores: Stores;
  let running: OperatorStack | undefined;
  beforeAll(async () => {
    running = await startOperatorStack('iprojbudget', OPERATOR);
    ({ stack, stores } = running);
  });
  afterAll(async () => {
    await running?.close();
  });

  it('a hard-stop project budget holds under concurrent streams from several keys: no overshoot, refusals name the project', async () => {
    const tenantId = newId('ten');
    await stores.tenants.create({
      id: tenantId,
      name: 'Projects',
      status: 'active',
      plan: 'payg',
      createdAt: new Date().toISOString(),
    });
    // $0.0002 = 200,000 nano-USD; each chat reserves its prompt + 64 output tokens at chat prices.
    const budget = 200_000;
    const projectId = newId('proj');
    await stores.projects.create({
      id: projectId,
      tenantId,
      name: 'Streaming',
      createdAt: new Date().toISOString(),
      limits: { budgetNanoUsd: budget, budgetMode: 'hard_stop' },
    });
    // Four keys of the project: two with limits of their own (a lease each per instance), two
    // without (they share the project's lease); and one key outside it.
    const secrets: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { key, secret, hash } = prepareApiKey({
        tenantId,
        name: `streamer-${i}`,
        ...(i < 2 ? { limits: { requestsPerMinute: 1_000 } } : {}),
      });
      await stores.apiKeys.create({ ...key, projectId }, hash);
      secrets.push(secret);
    }
    const outside = prepareApiKey({ tenantId, name: 'outside' });
    await stores.apiKeys.create(outside.key, outside.hash);

    const results = await Promise.all(
      Array.from({ length: 48 }, (_, i) => streamChat(stack.url, secrets[i % 4]!, i)),
    );
    const served = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(served.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    expect(served.length + refused.length).toBe(48);
    for (const r of served) expect(parseSse(r.body).at(-1)?.data).toBe('[DONE]');
    for (const r of refused) {
      const err = JSON.parse(r.body) as { error: { code: string; message: string } };
      expect(err.error.code).toBe('spend_cap_reached');
      expect(err.error.message).toContain(`The monthly budget of project 'Streaming' (${projectId})`);
      expect(r.retry).toBe('false');
    }
    const events = await stores.usage.listEvents(tenantId);
    expect(events.every((e) => e.projectId === projectId)).toBe(true);
    const billed = events.reduce((s, e) => s + e.costNanoUsd, 0);
    expect(billed).toBeGreaterThan(0);
    expect(billed).toBeLessThanOrEqual(budget);

    // The project's month as billed (the consumer's total) reads exactly the ledger.
    await stack.drainUsage();
    const month = windowsAt(new Date()).month;
    const total = await stores.dynamo.doc.send(
      new GetCommand({
        TableName: tableNames(stack.config.STAGE).usage,
        Key: keys.usageProjectMonth(tenantId, projectId, month),
        ConsistentRead: true,
      }),
    );
    expect(Number(total.Item?.costNanoUsd ?? 0)).toBe(billed);

    // The budget holds the project's keys, not the tenant: a key outside the project is served.
    const other = await streamChat(stack.url, outside.secret, 99);
    expect(other.status).toBe(200);

    // Once the leases are idle (QUOTA_LEASE_IDLE_MS) the next requests give them back (no timer
    // does): nothing stays reserved, and the project's counter is exactly what was billed.
    await sleep(stack.config.QUOTA_LEASE_IDLE_MS + 100);
    for (const secret of secrets)
      expect([200, 429]).toContain((await streamChat(stack.url, secret, 100)).status);
    const deadline = Date.now() + 15_000;
    const main = tableNames(stack.config.STAGE).main;
    const counter = async () =>
      Number(
        (
          await stores.dynamo.doc.send(
            new GetCommand({
              TableName: main,
              Key: keys.quotaProjectMonth(tenantId, projectId, month),
              ConsistentRead: true,
            }),
          )
        ).Item?.costNanoUsd ?? 0,
      );
    const projectBilled = async () =>
      (await stores.usage.listEvents(tenantId))
        .filter((e) => e.projectId === projectId)
        .reduce((s, e) => s + e.costNanoUsd, 0);
    // The last requests' own leases are given back too once idle: wait for the counter to settle
    // on the ledger (a lease still open holds capacity, which the counter includes).
    let held = await counter();
    while (held !== (await projectBilled()) && Date.now() < deadline) {
      await sleep(stack.config.QUOTA_LEASE_IDLE_MS + 100);
      await streamChat(stack.url, outside.secret, 101);
      held = await counter();
    }
    const all = await projectBilled();
    expect(all).toBeLessThanOrEqual(budget);
    expect(held).toBe(all);
  });
});
