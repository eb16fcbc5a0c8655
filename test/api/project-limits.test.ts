import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { toFile } from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '#api/app';
import { createApiDeps, createStores } from '#api/wiring/deps';
import { prepareApiKey } from '#shared/auth/issue-api-key';
import { keys } from '#shared/db/keys';
import { tableNames } from '#shared/db/tables';
import { newId } from '#shared/ids';
import { createLogger } from '#shared/logger';
import type { ProjectLimits } from '#shared/projects/project';
import { windowsAt } from '#shared/quotas/windows';
import {
  createKey,
  json,
  newOperator,
  newOwner,
  type TestOperator,
  type TestUser,
} from '../support/accounts';
import { createHarness, type Harness } from '../support/harness';
import { sdk } from '../support/openai-sdk';

type ErrorBody = { error: { code: string; message: string; type: string } };
type Alert = {
  metric: string;
  threshold: number;
  unit: string;
  used: string;
  limit: string;
  key: unknown;
  project: { id: string; name: string; budget_mode: string } | null;
  recipients: string[];
};

describe('project limits at the gateway', () => {
  let h: Harness;
  let op: TestOperator;
  beforeAll(async () => {
    h = await createHarness();
    op = await newOperator(h);
  });

  const counter = async (k: { pk: string; sk: string }) =>
    (
      await h.stores.dynamo.doc.send(
        new GetCommand({ TableName: tableNames(h.config.STAGE).main, Key: k, ConsistentRead: true }),
      )
    ).Item;
  const toPlan = async (tenantId: string, plan: string) => {
    const res = await h.call(`/admin/tenants/${tenantId}`, {
      key: op.token,
      method: 'PATCH',
      json: { plan },
    });
    expect(res.status, await res.clone().text()).toBe(200);
  };
  /** A project of the owner's tenant with `limits`, and `n` keys in it (and their secrets). */
  const project = async (owner: TestUser, name: string, limits: ProjectLimits | null, n = 2) => {
    const id = newId('proj');
    await h.stores.projects.create({
      id,
      tenantId: owner.tenantId,
      name,
      createdAt: new Date().toISOString(),
      limits,
    });
    const secrets: string[] = [];
    for (let i = 0; i < n; i++) {
      const { key, secret, hash } = prepareApiKey({ tenantId: owner.tenantId, name: `${name}-${i}` });
      await h.stores.apiKeys.create({ ...key, projectId: id }, hash);
      secrets.push(secret);
    }
    return { id, secrets };
  };
  /** A key of the default project (no project id on the key). */
  const defaultKey = async (owner: TestUser) => {
    const { key, secret, hash } = prepareApiKey({ tenantId: owner.tenantId, name: 'outside' });
    await h.stores.apiKeys.create(key, hash);
    return secret;
  };
  // "good day": 2 input tokens, 200 nano-USD; it reserves up to 8 tokens (800 nano-USD).
  const sentiment = (key: string) =>
    h.call('/v1/text/sentiment', { key, json: { model: 'sentiment', input: 'good day' } });
  const alerts = async (user: TestUser) => {
    const res = await h.call('/account/alerts', { key: user.token });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await json<{ data: Alert[] }>(res)).data;
  };
  const mails = (to: string) => h.outbox.list(to).filter((m) => m.kind === 'project_budget_alert');

  it('requests per minute hold across the project’s keys, refused with 429 naming the project; keys outside are not held back', async () => {
    const owner = await newOwner(h);
    await toPlan(owner.tenantId, 'payg');
    const p = await project(owner, 'Web app', { requestsPerMinute: 3 });
    const statuses: number[] = [];
    for (const secret of [...p.secrets, ...p.secrets]) statuses.push((await sentiment(secret)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const first = await sentiment(p.secrets[0]!);
    expect(first.status).toBe(429);
    const body = await json<ErrorBody>(first);
    expect(body.error.code).toBe('rate_limit_requests');
    expect(body.error.message).toBe(
      `Rate limit reached for project 'Web app' (${p.id}): 3 requests per minute. Retry in ${first.headers.get('retry-after')} s.`,
    );
    expect(first.headers.get('x-should-retry')).toBe('true');
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('3');
    // A key of the default project and a key of another project of the tenant still pass.
    expect((await sentiment(await defaultKey(owner))).status).toBe(200);
    const other = await project(owner, 'Batch jobs', { requestsPerMinute: 3 }, 1);
    const ok = await sentiment(other.secrets[0]!);
    expect(ok.status).toBe(200);
    // The headers show the project's limit (lower than the plan's 600) and what it has left.
    expect(ok.headers.get('x-ratelimit-limit-requests')).toBe('3');
    expect(ok.headers.get('x-ratelimit-remaining-requests')).toBe('2');
  });

  it('tokens per minute: a request past the project’s whole allowance is refused at once, naming the project', async () => {
    const owner = await newOwner(h);
    await toPlan(owner.tenantId, 'payg');
    const p = await project(owner, 'Small', { tokensPerMinute: 50 }, 1);
    const res = await h.call('/v1/chat/completions', {
      key: p.secrets[0]!,
      json: { model: 'chat', max_tokens: 64, messages: [{ role: 'user', content: 'Hello there.' }] },
    });
    expect(res.status).toBe(429);
    const body = await json<ErrorBody>(res);
    expect(body.error.code).toBe('rate_limit_tokens');
    expect(body.error.message).toContain(
      `Rate limit reached for project 'Small' (${p.id}): 50 tokens per minute`,
    );
    expect(await h.stores.usage.listEvents(owner.tenantId)).toEqual([]);
  });

  it('a hard-stop budget refuses with spend_cap_reached naming the project, and raises its 100% alert once', async () => {
    const owner = await newOwner(h);
    await toPlan(owner.tenantId, 'payg');
    // 1,000 nano-USD: after one served request (200) less than a worst case (800) is left.
    const p = await project(owner, 'Capped', { budgetNanoUsd: 1_000 });
    const statuses: number[] = [];
    for (const secret of [...p.secrets, ...p.secrets]) statuses.push((await sentiment(secret)).status);
    expect(statuses.slice(0, 1)).toEqual([200]);
    expect(statuses).toContain(429);
    const refused = await sentiment(p.secrets[1]!);
    expect(refused.status).toBe(429);
    const body = await json<ErrorBody>(refused);
    expect(body.error).toMatchObject({ code: 'spend_cap_reached', type: 'insufficient_quota' });
    expect(body.error.message).toBe(
      `The monthly budget of project 'Capped' (${p.id}) of $0.000001000 would be exceeded. Raise the project's budget to continue.`,
    );
    expect(refused.headers.get('x-should-retry')).toBe('false');
    const billed = (await h.stores.usage.listEvents(owner.tenantId)).reduce((s, e) => s + e.costNanoUsd, 0);
    expect(billed).toBeLessThanOrEqual(1_000);
    await h.drainUsage();
    const listed = (await alerts(owner)).filter((a) => a.metric === 'project_spend');
    expect(listed.map((a) => a.threshold)).toEqual([100]);
    expect(listed[0]).toMatchObject({
      project: { id: p.id, name: 'Capped', budget_mode: 'hard_stop' },
      key: null,
      unit: 'usd',
      limit: '0.000001000',
      recipients: [owner.email],
    });
    expect(mails(owner.email)).toHaveLength(1);
    expect(mails(owner.email)[0]!.subject).toContain('project “Capped” has reached its monthly budget');
    // Refused again: no second alert or email.
    expect((await sentiment(p.secrets[0]!)).status).toBe(429);
    expect(mails(owner.email)).toHaveLength(1);
    // The usage records name the project.
    expect((await h.stores.usage.listEvents(owner.tenantId)).every((e) => e.projectId === p.id)).toBe(true);
  });

  it('an alert-only budget never refuses, adds nothing at admission, and alerts 50, 80 and 100% once each', async () => {
    const owner = await newOwner(h);
    await toPlan(owner.tenantId, 'payg');
    // 1,000 nano-USD: 50% after 3 requests (600), 80% after 4, 100% after 5.
    const p = await project(owner, 'Watched', { budgetNanoUsd: 1_000, budgetMode: 'alert_only' }, 2);
    const sentAfter: number[] = [];
    for (let i = 0; i < 8; i++) {
      expect((await sentiment(p.secrets[i % 2]!)).status).toBe(200);
      await h.drainUsage();
      sentAfter.push(mails(owner.email).length);
    }
    expect(sentAfter).toEqual([0, 0, 1, 2, 3, 3, 3, 3]);
    expect(mails(owner.email).map((m) => m.subject)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('is at 50% of its monthly budget'),
        expect.stringContaining('is at 80% of its monthly budget'),
        expect.stringContaining('has reached its monthly budget'),
      ]),
    );
    expect(mails(owner.email)[0]!.text).toContain('keep being served past it');
    const listed = (await alerts(owner)).filter((a) => a.metric === 'project_spend');
    expect(listed.map((a) => a.threshold).sort()).toEqual([100, 50, 80]);
    expect(listed.every((a) => a.project?.budget_mode === 'alert_only')).toBe(true);
    // Admission never saw the budget: no project counter was written.
    const w = windowsAt(new Date());
    expect(await counter(keys.quotaProjectMonth(owner.tenantId, p.id, w.month))).toBeUndefined();
    expect(await counter(keys.quotaProjectMinute(owner.tenantId, p.id, w.minute))).toBeUndefined();
  });

  it('limits set over the console API bite at once on the instance that made the change', async () => {
    const owner = await newOwner(h);
    await toPlan(owner.tenantId, 'payg');
    const made = await h.call('/account/projects', { key: owner.token, json: { name: 'Changing' } });
    expect(made.status, await made.clone().text()).toBe(201);
    const p = await json<{ id: string }>(made);
    const key = await createKey(h, owner, { name: 'in-project', project_id: p.id });
    // No limits: served, and nothing of the project's is counted.
    expect((await sentiment(key.secret)).status).toBe(200);
    const w = windowsAt(new Date());
    expect(await counter(keys.quotaProjectMinute(owner.tenantId, p.id, w.minute))).toBeUndefined();
    // The project was read once and is cached (AUTH_CACHE_TTL_MS); the change drops it here.
    const set = await h.call(`/account/projects/${p.id}`, {
      key: owner.token,
      method: 'PATCH',
      json: { limits: { requests_per_minute: 1 } },
    });
    expect(set.status, await set.clone().text()).toBe(200);
    expect((await sentiment(key.secret)).status).toBe(200);
    const refused = await sentiment(key.secret);
    expect(refused.status).toBe(429);
    expect((await json<ErrorBody>(refused)).error.message).toContain(`project 'Changing' (${p.id})`);
    // Removed again: served at once.
    const cleared = await h.call(`/account/projects/${p.id}`, {
      key: owner.token,
      method: 'PATCH',
      json: { limits: null },
    });
    expect(cleared.status, await cleared.clone().text()).toBe(200);
    expect((await sentiment(key.secret)).status).toBe(200);
  });

  it('a project without limits costs one cached GetItem per instance and puts no project counter in any transaction', async () => {
    // An instance that caches keys, tenants and projects as deployed (the harness caches none).
    const config = { ...h.config, AUTH_CACHE_TTL_MS: 60_000 };
    const stores = createStores(config);
    const sent: { command: string; input: unknown }[] = [];
    stores.dynamo.doc.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push({ command: String(context.commandName), input: args.input });
        return next(args);
      },
      { step: 'initialize', name: 'watchCommands' },
    );
    const app = createApiApp(
      createApiDeps(config, createLogger('silent'), { stores, email: h.outbox, signingKeys: h.signingKeys }),
    );
    const owner = await newOwner(h);
    await toPlan(owner.tenantId, 'payg');
    const p = await project(owner, 'Plain', null, 1);
    const outside = await defaultKey(owner);
    const call = (key: string) =>
      app.request('/v1/text/sentiment', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'sentiment', input: 'good day' }),
      });
    for (let i = 0; i < 10; i++) {
      expect((await call(p.secrets[0]!)).status).toBe(200);
      expect((await call(outside)).status).toBe(200);
    }
    const projectReads = sent.filter((s) => JSON.stringify(s.input).includes('"sk":"PROJECT#'));
    expect(new Set(projectReads.map((r) => r.command)), JSON.stringify(projectReads)).toEqual(
      new Set(['GetItemCommand']),
    );
    // One read of each project (the default one is synthesized when it has no item), then cached.
    expect(projectReads.map((r) => JSON.stringify(r.input).match(/PROJECT#(\w+)/)?.[1]).sort()).toEqual(
      [p.id, 'proj_default'].sort(),
    );
    // No project counter anywhere: not in the lease grants, not in a read.
    expect(JSON.stringify(sent)).not.toContain('#PROJECT#');
    stores.dynamo.client.destroy();
  });

  it('batch lines are held to the project’s budget, not to its per-minute limits', async () => {
    const owner = await newOwner(h);
    await toPlan(owner.tenantId, 'payg');
    // One request a minute would hold all but one line back; the budget lets only a few lines run.
    const budget = 3_000;
    const p = await project(owner, 'Nightly', { requestsPerMinute: 1, budgetNanoUsd: budget }, 1);
    const client = sdk(h, p.secrets[0]!);
    const rows = Array.from({ length: 7 }, (_, i) => ({
      custom_id: `r-${i}`,
      method: 'POST',
      url: '/v1/text/sentiment',
      body: { model: 'sentiment', input: `Review ${i}: I love how fast this is.` },
    }));
    const text = `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
    const file = await client.files.create({
      file: await toFile(Buffer.from(text), 'b.jsonl'),
      purpose: 'batch',
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/text/sentiment' as never,
      completion_window: '24h',
    });
    await h.runBatches();
    const done = await client.batches.retrieve(batch.id);
    expect(done.request_counts?.completed).toBeGreaterThan(0);
    expect(done.request_counts?.failed).toBeGreaterThan(0);
    const errors = await (await client.files.content(done.error_file_id!)).text();
    expect(errors).toContain('spend_cap_reached');
    expect(errors).toContain(`project 'Nightly' (${p.id})`);
    expect(errors).not.toContain('rate_limit');
    const billed = (await h.stores.usage.listEvents(owner.tenantId)).reduce((s, e) => s + e.costNanoUsd, 0);
    expect(billed).toBeGreaterThan(0);
    expect(billed).toBeLessThanOrEqual(budget);
  });
});
