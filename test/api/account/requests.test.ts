import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { issueApiKey } from '#shared/auth/issue-api-key';
import { createDynamo, type Dynamo } from '#shared/db/client';
import { keys } from '#shared/db/keys';
import { tableNames } from '#shared/db/tables';
import { newId } from '#shared/ids';
import { refusalTtl } from '#shared/observability/refusal-store';
import { addMember, createKey, expectError, json, newOwner, type TestUser } from '../../support/accounts';
import { createHarness, type Harness } from '../../support/harness';
import { StoreFaults } from '../../support/store-faults';

type RequestView = {
  object: 'request';
  id: string;
  created_at: string;
  answered_at: string;
  status: string;
  model: string;
  version: string;
  channel: string;
  usage: { input_tokens: number; output_tokens: number; images: number };
  cost_usd: string | null;
  latency_ms: number;
  key_id: string;
  key_name: string | null;
  project_id: string;
};
type RequestList = {
  data: RequestView[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
};
type RefusalRow = {
  minute: string;
  key_id: string;
  key_name: string | null;
  project_id: string;
  reason: string;
  status: number;
  count: number;
};
type RefusalList = { data: RefusalRow[]; next_cursor: string | null; note: string };

const sentiment = (h: Harness, key: string, input = 'lovely') =>
  h.call('/v1/text/sentiment', { key, json: { model: 'sentiment', input } });

/** Polls `read` until `ok` holds or `ms` pass; answers what it last read and how long it took. */
async function within<T>(ms: number, read: () => Promise<T>, ok: (v: T) => boolean) {
  const started = performance.now();
  let v = await read();
  while (!ok(v) && performance.now() - started < ms) {
    await new Promise((r) => setTimeout(r, 50));
    v = await read();
  }
  return { value: v, ms: performance.now() - started };
}

async function list(h: Harness, user: TestUser, query = ''): Promise<RequestList> {
  const res = await h.call(`/account/requests${query}`, { key: user.token });
  expect(res.status, await res.clone().text()).toBe(200);
  return json(res);
}

async function refusals(h: Harness, user: TestUser, query = ''): Promise<RefusalList> {
  const res = await h.call(`/account/requests/refusals${query}`, { key: user.token });
  expect(res.status, await res.clone().text()).toBe(200);
  return json(res);
}

describe('the request log', () => {
  const faults = new StoreFaults();
  let dynamo: Dynamo;
  let h: Harness;
  let owner: TestUser;
  let other: TestUser;
  let key: { id: string; secret: string };
  beforeAll(async () => {
    // Every call the app makes to the store is seen (and counted) on its way out.
    dynamo = createDynamo({ region: 'us-east-1', endpoint: inject('dynamoEndpoint') });
    await faults.install(dynamo.client, inject('dynamoEndpoint'));
    h = await createHarness({ dynamo });
    owner = await newOwner(h);
    other = await newOwner(h);
    key = await createKey(h, owner, { name: 'production' });
  });
  afterAll(async () => {
    await faults.close();
  });

  it('finds a served call by the x-request-id it answered, within 2 s, with what it cost and which key', async () => {
    const res = await sentiment(h, key.secret);
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id')!;
    expect(id).toMatch(/^req_/);
    const found = await within(
      2_000,
      () => h.call(`/account/requests/${id}`, { key: owner.token }),
      (r) => r.status === 200,
    );
    expect(found.ms).toBeLessThan(2_000);
    const view = await json<RequestView>(found.value);
    expect(view).toMatchObject({
      object: 'request',
      id,
      status: 'succeeded',
      model: 'sentiment',
      channel: 'online',
      key_id: key.id,
      key_name: 'production',
      project_id: 'proj_default',
    });
    expect(view.version).toBe(res.headers.get('x-model-version')?.split('@')[1] ?? view.version);
    expect(view.usage.input_tokens).toBeGreaterThan(0);
    expect(view.cost_usd).toMatch(/^\d+\.\d{9}$/);
    // The record it reads is the usage record the ledger bills: same id, same cost.
    const record = await h.stores.usage.get(owner.tenantId, id);
    expect(record?.requestId).toBe(id);
    expect(view.cost_usd).toBe(
      `${Math.floor(record!.costNanoUsd / 1e9)}.${String(record!.costNanoUsd % 1e9).padStart(9, '0')}`,
    );
    expect(view.latency_ms).toBe(Math.round(record!.latencyMs));
  });

  it('finds a batch line by the request_id its output line carries (channel batch)', async () => {
    const client = new OpenAI({
      baseURL: 'http://tollgate.test/v1',
      apiKey: key.secret,
      maxRetries: 0,
      fetch: async (url: string | URL | Request, init?: RequestInit) => h.app.request(String(url), init),
    });
    const rows = [0, 1].map((i) => ({
      custom_id: `r-${i}`,
      method: 'POST',
      url: '/v1/text/sentiment',
      body: { model: 'sentiment', input: `line ${i}` },
    }));
    const file = await client.files.create({
      file: await toFile(Buffer.from(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`), 'in.jsonl'),
      purpose: 'batch',
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/text/sentiment' as never,
      completion_window: '24h',
    });
    await h.runBatches();
    const done = await client.batches.retrieve(batch.id);
    expect(done.status).toBe('completed');
    const lines = (await (await client.files.content(done.output_file_id!)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { response: { request_id: string } });
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const r = await h.call(`/account/requests/${line.response.request_id}`, { key: owner.token });
      expect(r.status, await r.clone().text()).toBe(200);
      expect(await json<RequestView>(r)).toMatchObject({
        channel: 'batch',
        key_id: key.id,
        status: 'succeeded',
      });
    }
  });

  it('an error envelope carries the x-request-id of its answer', async () => {
    const res = await h.call('/v1/text/sentiment', { key: key.secret, json: { model: 'sentiment' } });
    expect(res.status).toBe(400);
    const body = await json<{ error: { request_id: string } }>(res);
    expect(body.error.request_id).toBe(res.headers.get('x-request-id'));
  });

  it('another tenant’s call is 404 and never listed; a malformed id is 400 naming it', async () => {
    const res = await sentiment(h, key.secret);
    const id = res.headers.get('x-request-id')!;
    await expectError(await h.call(`/account/requests/${id}`, { key: other.token }), 404, 'not_found');
    expect((await list(h, other)).data.map((r) => r.id)).not.toContain(id);
    expect((await list(h, owner)).data.map((r) => r.id)).toContain(id);
    await expectError(
      await h.call(`/account/requests/${newId('req')}`, { key: owner.token }),
      404,
      'not_found',
      'request_id',
    );
    await expectError(
      await h.call('/account/requests/%22req_123%22', { key: owner.token }),
      400,
      'invalid_request',
      'request_id',
    );
  });

  it('lists newest first and filters by key, model, model@version, status, project and time; pages with after', async () => {
    const t = await newOwner(h);
    const a = await createKey(h, t, { name: 'a' });
    const b = await createKey(h, t, { name: 'b' });
    const ids: string[] = [];
    for (const k of [a, b, a, b, a]) {
      const r = await sentiment(h, k.secret);
      expect(r.status).toBe(200);
      ids.push(r.headers.get('x-request-id')!);
    }
    const e = await h.call('/v1/embeddings', { key: b.secret, json: { model: 'embeddings', input: 'hi' } });
    expect(e.status, await e.clone().text()).toBe(200);
    ids.push(e.headers.get('x-request-id')!);
    const version = (await json<RequestView>(await h.call(`/account/requests/${ids[0]}`, { key: t.token })))
      .version;

    const all = await list(h, t);
    expect(all.data.map((r) => r.id)).toEqual([...ids].reverse());
    expect(all.has_more).toBe(false);
    expect((await list(h, t, `?key_id=${a.id}`)).data.map((r) => r.id)).toEqual([ids[4], ids[2], ids[0]]);
    expect((await list(h, t, '?model=embeddings')).data.map((r) => r.id)).toEqual([ids[5]]);
    expect((await list(h, t, `?model=sentiment@${version}`)).data).toHaveLength(5);
    expect((await list(h, t, '?model=sentiment@no-such-version')).data).toHaveLength(0);
    expect((await list(h, t, '?status=succeeded')).data).toHaveLength(6);
    expect((await list(h, t, '?status=void')).data).toHaveLength(0);
    expect((await list(h, t, '?project_id=proj_default')).data).toHaveLength(6);
    expect((await list(h, t, '?project_id=proj_other')).data).toHaveLength(0);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await list(h, t, `?from=${future}&to=${future}`)).data).toHaveLength(0);
    const past = new Date(Date.now() - 3_600_000).toISOString();
    expect((await list(h, t, `?from=${past}`)).data).toHaveLength(6);

    // Pages of two, newest first, each after the last id of the one before: every call once.
    const seen: string[] = [];
    let after = '';
    for (let i = 0; i < 5; i++) {
      const page = await list(h, t, `?limit=2${after ? `&after=${after}` : ''}`);
      seen.push(...page.data.map((r) => r.id));
      if (!page.has_more) break;
      after = page.last_id!;
    }
    expect(seen).toEqual([...ids].reverse());
  });

  it('bad filters are 400s naming the parameter', async () => {
    const bad = async (query: string, param: string) =>
      expectError(
        await h.call(`/account/requests${query}`, { key: owner.token }),
        400,
        'invalid_request',
        param,
      );
    await bad('?from=yesterday', 'from');
    await bad(`?from=${new Date().toISOString()}&to=${new Date(Date.now() - 60_000).toISOString()}`, 'from');
    await bad(`?from=${new Date(Date.now() - 40 * 86_400_000).toISOString()}`, 'from');
    await bad('?after=nope', 'after');
    await bad('?limit=0', 'limit');
    await bad('?status=refused', 'status');
    await bad('?model=@v1', 'model');
    await expectError(
      await h.call('/account/requests/refusals?cursor=bm9wZQ', { key: owner.token }),
      400,
      'invalid_request',
      'cursor',
    );
  });

  it('every member may look calls up; only billing roles see what they cost', async () => {
    const res = await sentiment(h, key.secret);
    const id = res.headers.get('x-request-id')!;
    for (const role of ['developer', 'viewer', 'billing'] as const) {
      const member = await addMember(h, owner, role);
      const r = await h.call(`/account/requests/${id}`, { key: member.token });
      expect(r.status, role).toBe(200);
      const view = await json<RequestView>(r);
      expect(view.cost_usd === null, role).toBe(role !== 'billing');
    }
  });

  it('shows a refusal in its per-minute count within 2 s, without a store write per refusal', async () => {
    const t = await newOwner(h);
    const narrow = await issueApiKey(h.stores.apiKeys, {
      tenantId: t.tenantId,
      name: 'narrow',
      limits: { requestsPerMinute: 1 },
    });
    // Away from a minute's turn, so every refusal below falls in one minute's bucket.
    while (Date.now() % 60_000 > 50_000) await new Promise((r) => setTimeout(r, 250));
    expect((await sentiment(h, narrow.secret)).status).toBe(200);
    faults.clear();
    const first = await sentiment(h, narrow.secret);
    expect(first.status).toBe(429);
    const code = (await json<{ error: { code: string } }>(first)).error.code;
    const shown = await within(
      2_000,
      () => refusals(h, t, `?key_id=${narrow.key.id}`),
      (l) => l.data.some((r) => r.reason === code && r.count >= 1),
    );
    expect(shown.ms).toBeLessThan(2_000);
    expect(shown.value.data[0]).toMatchObject({
      key_id: narrow.key.id,
      key_name: 'narrow',
      project_id: 'proj_default',
      reason: code,
      status: 429,
      count: 1,
    });
    expect(shown.value.note).toMatch(/logs/);

    // Many more refusals of the same key and reason: the request path writes nothing for them.
    faults.clear();
    const N = 40;
    for (let i = 0; i < N; i++) expect((await sentiment(h, narrow.secret)).status).toBe(429);
    const refusalWrites = () =>
      faults.calls.filter((c) => c.body.includes('#REFUSALS') && c.operation !== 'Query').length;
    expect(refusalWrites()).toBe(0);
    // One flush writes their sum in one ADD.
    await h.deps.refusals.flush();
    expect(refusalWrites()).toBe(1);
    const counted = await refusals(h, t, `?key_id=${narrow.key.id}&reason=${code}`);
    expect(counted.data.reduce((n, r) => n + r.count, 0)).toBe(N + 1);

    // Another tenant sees none of them.
    expect((await refusals(h, other)).data.filter((r) => r.key_id === narrow.key.id)).toHaveLength(0);
    expect((await refusals(h, t, '?reason=model_not_found')).data).toHaveLength(0);
  });

  it('counts refusals others add (scope 403s, bad input) centrally; a bad key has no tenant and is not counted', async () => {
    const t = await newOwner(h);
    const usageOnly = await issueApiKey(h.stores.apiKeys, {
      tenantId: t.tenantId,
      name: 'usage only',
      scopes: ['usage:read'],
    });
    expect((await sentiment(h, usageOnly.secret)).status).toBe(403);
    // A key scoped to another endpoint: the scope check's own 403, counted under its code.
    const embeddingsOnly = await createKey(h, t, {
      name: 'embeddings only',
      scope: { endpoints: ['embeddings'] },
    });
    expect((await sentiment(h, embeddingsOnly.secret)).status).toBe(403);
    const k = await createKey(h, t, { name: 'k' });
    const bad = await h.call('/v1/text/sentiment', {
      key: k.secret,
      json: { model: 'no-such-model', input: 'x' },
    });
    expect(bad.status).toBe(400);
    const badCode = (await json<{ error: { code: string } }>(bad)).error.code;
    expect((await sentiment(h, 'tg_live_not-a-key')).status).toBe(401);
    await h.deps.refusals.flush();
    const rows = (await refusals(h, t)).data;
    expect(rows.find((r) => r.key_id === usageOnly.key.id)).toMatchObject({ status: 403, count: 1 });
    expect(rows.find((r) => r.key_id === k.id)).toMatchObject({ reason: badCode, status: 400, count: 1 });
    expect(rows.find((r) => r.key_id === embeddingsOnly.id)).toMatchObject({
      reason: 'endpoint_not_in_key_scope',
      status: 403,
      count: 1,
    });
    expect(rows).toHaveLength(3);
  });

  it('count items expire by TTL 30 days after their minute', async () => {
    const t = await newOwner(h);
    const k = await createKey(h, t, { name: 'k' });
    const bad = await h.call('/v1/text/sentiment', { key: k.secret, json: { model: 'sentiment' } });
    expect(bad.status).toBe(400);
    await h.deps.refusals.flush();
    const [row] = (await refusals(h, t)).data;
    const item = await h.stores.dynamo.doc.send(
      new (await import('@aws-sdk/lib-dynamodb')).GetCommand({
        TableName: tableNames(h.config.STAGE).usage,
        Key: keys.refusalMinute(t.tenantId, row!.minute, k.id, row!.reason),
      }),
    );
    expect(item.Item?.ttl).toBe(refusalTtl(row!.minute));
    expect(item.Item!.ttl * 1000 - Date.parse(`${row!.minute}:00Z`)).toBe(30 * 86_400_000 + 60_000);
  });
});
