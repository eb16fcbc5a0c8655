import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRESHNESS_CACHE_MS } from '#api/http/usage-freshness';
import { tableName } from '../../shared/db/tables';
import { newId } from '../../shared/ids';
import { StreamPoller } from '../../shared/metering/stream-poller';
import type { UsageEvent } from '../../shared/metering/usage-store';
import {
  addMember,
  createKey,
  expectError,
  json,
  newOperator,
  newOwner,
  type TestOperator,
  type TestUser,
} from '../support/accounts';
import { createHarness, type Harness } from '../support/harness';

type Row = {
  date: string;
  model: string;
  version: string;
  key_id: string;
  key_name: string | null;
  channel: 'online' | 'batch';
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: string;
};
type Freshness = { as_of: string | null; lag_ms: number | null };
type Totals = {
  requests: number;
  input_tokens: number;
  output_tokens: number;
  images: number;
  cost_usd: string;
};
type Report = {
  data: Row[];
  totals: Totals;
  totals_by_channel: { online: Totals; batch: Totals };
  freshness: Freshness;
};

const event = (tenantId: string, keyId: string, at: string, over: Partial<UsageEvent> = {}): UsageEvent => ({
  requestId: newId('req', Date.parse(at)),
  tenantId,
  keyId,
  model: 'sentiment',
  version: 'v1',
  units: { input_tokens: 10 },
  costNanoUsd: 1_000,
  priceBook: 'pb-test',
  latencyMs: 3,
  status: 'succeeded',
  at,
  ...over,
});

describe('usage reports for an account', () => {
  let h: Harness;
  let owner: TestUser;
  let keyA: string;
  let keyB: string;
  beforeAll(async () => {
    h = await createHarness();
    owner = await newOwner(h);
    // A name the CSV must quote; keyB is a key no longer on record.
    keyA = (await createKey(h, owner, { name: 'laptop, "home"' })).id;
    keyB = newId('key');
    const t = owner.tenantId;
    for (const e of [
      event(t, keyA, '2026-03-01T10:00:00.000Z'),
      event(t, keyA, '2026-03-01T11:00:00.000Z'),
      event(t, keyB, '2026-03-01T12:00:00.000Z'),
      event(t, keyA, '2026-03-02T09:00:00.000Z', {
        model: 'chat',
        version: 'tiny-1',
        units: { input_tokens: 5, output_tokens: 7 },
        costNanoUsd: 1_300,
      }),
      event(t, keyB, '2026-03-03T09:00:00.000Z', {
        model: 'chat',
        version: 'smollm2-135m',
        costNanoUsd: 2_000,
      }),
    ]) {
      expect(await h.stores.usage.record(e)).toBe('recorded');
    }
  });

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await h.call(path, { key: owner.token, headers });
    expect(res.status, await res.clone().text()).toBe(200);
    return res;
  };
  const range = 'start_date=2026-03-01&end_date=2026-03-31';

  it('by day, model version and key, with totals and exact cost', async () => {
    const r = await json<Report>(await get(`/account/usage?${range}`));
    expect(r.data.map((d) => [d.date, `${d.model}@${d.version}`, d.key_id, d.requests])).toEqual([
      ['2026-03-01', 'sentiment@v1', keyA, 2],
      ['2026-03-01', 'sentiment@v1', keyB, 1],
      ['2026-03-02', 'chat@tiny-1', keyA, 1],
      ['2026-03-03', 'chat@smollm2-135m', keyB, 1],
    ]);
    expect(r.data.map((d) => d.key_name)).toEqual(['laptop, "home"', null, 'laptop, "home"', null]);
    expect(r.totals).toMatchObject({ requests: 5, input_tokens: 45, cost_usd: '0.000006300' });
  });

  it('filters by model, model version and key', async () => {
    const byModel = await json<Report>(await get(`/account/usage?${range}&model=chat`));
    expect(byModel.data.map((d) => d.version)).toEqual(['tiny-1', 'smollm2-135m']);
    expect(byModel.totals.cost_usd).toBe('0.000003300');
    const byVersion = await json<Report>(await get(`/account/usage?${range}&model=chat@tiny-1`));
    expect(byVersion.data).toHaveLength(1);
    expect(byVersion.data[0]).toMatchObject({ input_tokens: 5, output_tokens: 7 });
    const byKey = await json<Report>(await get(`/account/usage?${range}&key_id=${keyB}`));
    expect(byKey.data.map((d) => d.key_id)).toEqual([keyB, keyB]);
    expect(byKey.totals.requests).toBe(2);
    const both = await json<Report>(await get(`/account/usage?${range}&key_id=${keyA}&model=sentiment@v1`));
    expect(both.totals.requests).toBe(2);
  });

  it('groups and filters by project, mapping each key to its project at read time (unknown: 404)', async () => {
    const made = await h.call('/account/projects', { key: owner.token, json: { name: 'Search' } });
    expect(made.status).toBe(201);
    const project = await json<{ id: string }>(made);
    const inProject = (await createKey(h, owner, { name: 'search', project_id: project.id })).id;
    // In April, apart from the March rows the other tests count.
    const april = 'start_date=2026-04-01&end_date=2026-04-30';
    for (const e of [
      event(owner.tenantId, inProject, '2026-04-04T09:00:00.000Z', { costNanoUsd: 4_000 }),
      event(owner.tenantId, keyA, '2026-04-04T10:00:00.000Z'),
      event(owner.tenantId, keyA, '2026-04-05T10:00:00.000Z'),
    ]) {
      expect(await h.stores.usage.record(e)).toBe('recorded');
    }
    const all = await json<
      Omit<Report, 'data'> & {
        data: (Row & { project_id: string })[];
        totals_by_project: (Totals & { project_id: string; project_name: string | null })[];
      }
    >(await get(`/account/usage?${april}`));
    expect(all.data.find((d) => d.key_id === inProject)?.project_id).toBe(project.id);
    expect(all.data.filter((d) => d.key_id !== inProject).every((d) => d.project_id === 'proj_default')).toBe(
      true,
    );
    expect(all.totals_by_project.map((p) => [p.project_id, p.project_name, p.requests, p.cost_usd])).toEqual([
      ['proj_default', 'Default', 2, '0.000002000'],
      [project.id, 'Search', 1, '0.000004000'],
    ]);
    const one = await json<Report>(await get(`/account/usage?${april}&project_id=${project.id}`));
    expect(one.data.map((d) => d.key_id)).toEqual([inProject]);
    expect(one.totals.cost_usd).toBe('0.000004000');
    const byDefault = await json<Report>(await get(`/account/usage?${april}&project_id=proj_default`));
    expect(byDefault.totals.requests).toBe(2);
    const csv = await (await get(`/account/usage?${april}&project_id=${project.id}&format=csv`)).text();
    expect(csv.split('\r\n')[1]).toBe(
      `2026-04-04,sentiment,v1,${inProject},search,1,10,0,0,0.000004000,online,${project.id}`,
    );
    const stranger = await newOwner(h);
    await expectError(
      await h.call(`/account/usage?${april}&project_id=${project.id}`, { key: stranger.token }),
      404,
      'not_found',
      'project_id',
    );
    // Operators see the tenant's projects on its page.
    const op = await newOperator(h);
    const detail = await json<{ projects: { id: string; name: string }[] }>(
      await h.call(`/admin/tenants/${owner.tenantId}`, { key: op.token }),
    );
    expect(detail.projects.map((p) => [p.id, p.name])).toEqual([
      ['proj_default', 'Default'],
      [project.id, 'Search'],
    ]);
  });

  it('answers CSV for ?format=csv or Accept: text/csv: a header row, CRLF, the same rows', async () => {
    for (const [path, headers] of [
      [`/account/usage?${range}&format=csv`, {}],
      [`/account/usage?${range}`, { accept: 'text/csv' }],
    ] as const) {
      const res = await get(path, headers);
      expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(res.headers.get('content-disposition')).toBe(
        'attachment; filename="usage-2026-03-01-2026-03-31.csv"',
      );
      const text = await res.text();
      const lines = text.split('\r\n');
      expect(lines[0]).toBe(
        'date,model,version,key_id,key_name,requests,input_tokens,output_tokens,images,cost_usd,channel,project_id',
      );
      expect(lines[1]).toBe(
        `2026-03-01,sentiment,v1,${keyA},"laptop, ""home""",2,20,0,0,0.000002000,online,proj_default`,
      );
      expect(lines[2]).toBe(`2026-03-01,sentiment,v1,${keyB},,1,10,0,0,0.000001000,online,proj_default`);
      expect(lines).toHaveLength(6);
      expect(lines.at(-1)).toBe('');
    }
  });

  it('writes a key name a spreadsheet would run as a formula as text, in the CSV only', async () => {
    const other = await newOwner(h);
    const key = await createKey(h, other, { name: '=HYPERLINK("https://evil.example")' });
    expect(await h.stores.usage.record(event(other.tenantId, key.id, '2026-03-05T10:00:00.000Z'))).toBe(
      'recorded',
    );
    const res = await h.call(`/account/usage?${range}&format=csv`, { key: other.token });
    expect((await res.text()).split('\r\n')[1]).toBe(
      `2026-03-05,sentiment,v1,${key.id},"'=HYPERLINK(""https://evil.example"")",1,10,0,0,0.000001000,online,proj_default`,
    );
    const report = await json<Report>(await h.call(`/account/usage?${range}`, { key: other.token }));
    expect(report.data[0]!.key_name).toBe('=HYPERLINK("https://evil.example")');
  });

  it('/v1/usage answers the same report to an API key, CSV included', async () => {
    const key = await createKey(h, owner, { name: 'reader', scopes: ['usage:read'] });
    const res = await h.call(`/v1/usage?${range}&model=chat&format=csv`, { key: key.secret });
    expect(res.status).toBe(200);
    expect((await res.text()).split('\r\n').slice(1, 3)).toEqual([
      `2026-03-02,chat,tiny-1,${keyA},"laptop, ""home""",1,5,7,0,0.000001300,online,proj_default`,
      `2026-03-03,chat,smollm2-135m,${keyB},,1,10,0,0,0.000002000,online,proj_default`,
    ]);
    const jsonRes = await json<Report>(
      await h.call(`/v1/usage?${range}&key_id=${keyA}`, { key: key.secret }),
    );
    expect(jsonRes.totals.requests).toBe(3);
  });

  it("gives operators the same report for one tenant; other tenants' data stays out", async () => {
    const op = await newOperator(h);
    const other = await newOwner(h);
    expect(await h.stores.usage.record(event(other.tenantId, newId('key'), '2026-03-01T10:00:00.000Z'))).toBe(
      'recorded',
    );
    const mine = await json<Report>(await get(`/account/usage?${range}`));
    const res = await h.call(`/admin/tenants/${owner.tenantId}/usage?${range}`, { key: op.token });
    expect(res.status).toBe(200);
    // The same report, read a moment later: only its freshness may differ.
    const theirs = await json<Report>(res);
    expect({ ...theirs, freshness: undefined }).toEqual({ ...mine, freshness: undefined });
    const byVersion = await json<Report>(
      await h.call(`/admin/tenants/${owner.tenantId}/usage?${range}&model=chat@tiny-1`, { key: op.token }),
    );
    expect(byVersion.totals).toMatchObject({ requests: 1, cost_usd: '0.000001300' });
    const csv = await h.call(`/admin/tenants/${owner.tenantId}/usage?${range}&format=csv`, { key: op.token });
    expect((await csv.text()).split('\r\n')).toHaveLength(6);
    await expectError(
      await h.call(`/admin/tenants/ten_01J00000000000000000000000/usage`, { key: op.token }),
      404,
      'not_found',
      'tenant_id',
    );
    await expectError(
      await h.call(`/admin/tenants/${owner.tenantId}/usage?format=xml`, { key: op.token }),
      400,
      'invalid_request',
      'format',
    );
    await expectError(
      await h.call(`/admin/tenants/${other.tenantId}/usage`, { key: owner.token }),
      403,
      'forbidden',
    );
  });

  it('keeps batch lines apart from online calls: rows, totals by channel, a channel filter and the CSV, on every route', async () => {
    const tenant = await newOwner(h);
    const key = (await createKey(h, tenant, { name: 'jobs' })).id;
    const t = tenant.tenantId;
    const day = '2026-03-09T10:00:00.000Z';
    // One key, one day, one model version: online calls and batch lines (at half the price).
    const online = [0, 1, 2].map((i) =>
      event(t, key, day, {
        requestId: newId('req', Date.parse(day) + i),
        units: { input_tokens: 10 + i },
        costNanoUsd: 1_000 + i,
      }),
    );
    const batch = [0, 1, 2, 3, 4].map((i) =>
      event(t, key, day, {
        requestId: newId('req', Date.parse(day) + 10 + i),
        units: { input_tokens: 20 + i, output_tokens: 1 },
        costNanoUsd: 501 + i,
        channel: 'batch',
      }),
    );
    for (const e of [...online, ...batch]) expect(await h.stores.usage.record(e)).toBe('recorded');
    const onlineCost = online.reduce((a, e) => a + e.costNanoUsd, 0);
    const batchCost = batch.reduce((a, e) => a + e.costNanoUsd, 0);
    const usd = (nano: number) => `0.${String(nano).padStart(9, '0')}`;
    const onlineTotals = {
      requests: 3,
      input_tokens: 33,
      output_tokens: 0,
      images: 0,
      cost_usd: usd(onlineCost),
    };
    const batchTotals = {
      requests: 5,
      input_tokens: 110,
      output_tokens: 5,
      images: 0,
      cost_usd: usd(batchCost),
    };

    const reader = await createKey(h, tenant, { name: 'reader', scopes: ['usage:read'] });
    const op = await newOperator(h);
    const q = 'start_date=2026-03-09&end_date=2026-03-09';
    for (const [path, token] of [
      [`/account/usage?${q}`, tenant.token],
      [`/v1/usage?${q}`, reader.secret],
      [`/admin/tenants/${t}/usage?${q}`, op.token],
    ] as const) {
      const res = await h.call(path, { key: token });
      expect(res.status, path).toBe(200);
      const r = await json<Report>(res);
      expect(
        r.data.map((d) => [d.key_id, `${d.model}@${d.version}`, d.channel, d.requests]),
        path,
      ).toEqual([
        [key, 'sentiment@v1', 'online', 3],
        [key, 'sentiment@v1', 'batch', 5],
      ]);
      expect(
        r.data.find((d) => d.channel === 'batch'),
        path,
      ).toMatchObject(batchTotals);
      expect(r.totals_by_channel, path).toEqual({ online: onlineTotals, batch: batchTotals });
      expect(r.totals, path).toEqual({
        requests: 8,
        input_tokens: 143,
        output_tokens: 5,
        images: 0,
        cost_usd: usd(onlineCost + batchCost),
      });

      const onlyBatch = await json<Report>(await h.call(`${path}&channel=batch`, { key: token }));
      expect(
        onlyBatch.data.map((d) => d.channel),
        path,
      ).toEqual(['batch']);
      expect(onlyBatch.totals, path).toEqual(batchTotals);
      expect(onlyBatch.totals_by_channel.online.requests, path).toBe(0);
      const onlyOnline = await json<Report>(await h.call(`${path}&channel=online`, { key: token }));
      expect(onlyOnline.totals, path).toEqual(onlineTotals);

      const csv = await h.call(`${path}&format=csv`, { key: token });
      expect((await csv.text()).split('\r\n'), path).toEqual([
        'date,model,version,key_id,key_name,requests,input_tokens,output_tokens,images,cost_usd,channel,project_id',
        `2026-03-09,sentiment,v1,${key},jobs,3,33,0,0,${usd(onlineCost)},online,proj_default`,
        `2026-03-09,sentiment,v1,${key},jobs,5,110,5,0,${usd(batchCost)},batch,proj_default`,
        '',
      ]);
      const batchCsv = await h.call(`${path}&format=csv&channel=batch`, { key: token });
      expect((await batchCsv.text()).split('\r\n').slice(1), path).toEqual([
        `2026-03-09,sentiment,v1,${key},jobs,5,110,5,0,${usd(batchCost)},batch,proj_default`,
        '',
      ]);
      await expectError(
        await h.call(`${path}&channel=offline`, { key: token }),
        400,
        'invalid_request',
        'channel',
      );
    }
  });

  it('refuses bad ranges and formats naming the field; needs billing:read', async () => {
    for (const [q, param] of [
      ['start_date=2026-03-05&end_date=2026-03-01', 'start_date'],
      ['start_date=2026-02-30', 'start_date'],
      ['start_date=2024-01-01&end_date=2026-01-01', 'start_date'],
      ['format=xml', 'format'],
    ] as const) {
      await expectError(
        await h.call(`/account/usage?${q}`, { key: owner.token }),
        400,
        'invalid_request',
        param,
      );
    }
    const billing = await addMember(h, owner, 'billing');
    expect((await h.call(`/account/usage?${range}`, { key: billing.token })).status).toBe(200);
    const developer = await addMember(h, owner, 'developer');
    await expectError(await h.call(`/account/usage?${range}`, { key: developer.token }), 403, 'forbidden');
  });
});

type Channel = 'online' | 'batch';
type PlatformCounts = { requests: number; input_tokens: number; cost_usd: string };
type Platform = {
  by_day: {
    date: string;
    model: string;
    version: string;
    channel: Channel;
    requests: number;
    cost_usd: string;
  }[];
  by_model: { model: string; version: string; channel: Channel; requests: number; cost_usd: string }[];
  totals: { requests: number; cost_usd: string; revenue_usd: string };
  totals_by_channel: Record<Channel, PlatformCounts>;
  top_tenants: { months: string[]; data: { tenant_id: string; name: string | null; cost_usd: string }[] };
};

describe('usage across tenants, for operators', () => {
  let h: Harness;
  let op: TestOperator;
  beforeAll(async () => {
    h = await createHarness();
    op = await newOperator(h);
  });

  it('by day and model version, revenue, and top tenants, from aggregates written with each event', async () => {
    const tenants: string[] = [];
    for (const [i, name] of ['Small', 'Big', 'Middle'].entries()) {
      const id = newId('ten');
      tenants.push(id);
      await h.stores.tenants.create({
        id,
        name,
        status: 'active',
        plan: 'payg',
        createdAt: new Date().toISOString(),
      });
      // Many requests at once: the sharded aggregates must still add up exactly.
      const n = [2, 30, 10][i]!;
      await Promise.all(
        Array.from({ length: n }, (_, j) =>
          h.stores.usage.record(
            event(id, 'key_x', `2026-04-${j % 2 === 0 ? '10' : '11'}T12:00:00.000Z`, {
              model: j % 3 === 0 ? 'chat' : 'sentiment',
              version: j % 3 === 0 ? 'tiny-1' : 'v1',
            }),
          ),
        ),
      );
    }
    // Outside the range: counted in May only.
    await h.stores.usage.record(
      event(tenants[0]!, 'key_x', '2026-05-01T00:00:00.000Z', { costNanoUsd: 1e9 }),
    );

    const res = await h.call('/admin/usage?start_date=2026-04-01&end_date=2026-04-30&top=2', {
      key: op.token,
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const p = await json<Platform>(res);
    expect(p.totals).toMatchObject({ requests: 42, revenue_usd: '0.000042000' });
    expect(p.by_day.map((d) => [d.date, `${d.model}@${d.version}`])).toEqual([
      ['2026-04-10', 'chat@tiny-1'],
      ['2026-04-10', 'sentiment@v1'],
      ['2026-04-11', 'chat@tiny-1'],
      ['2026-04-11', 'sentiment@v1'],
    ]);
    expect(p.by_day.reduce((s, d) => s + d.requests, 0)).toBe(42);
    expect(p.by_model.map((m) => `${m.model}@${m.version}:${m.requests}`)).toEqual([
      'sentiment@v1:27',
      'chat@tiny-1:15',
    ]);
    expect(p.top_tenants).toEqual({
      months: ['2026-04'],
      data: [
        expect.objectContaining({ tenant_id: tenants[1], name: 'Big', cost_usd: '0.000030000' }),
        expect.objectContaining({ tenant_id: tenants[2], name: 'Middle', cost_usd: '0.000010000' }),
      ],
    });
    const may = await json<Platform>(
      await h.call('/admin/usage?start_date=2026-05-01&end_date=2026-05-01', { key: op.token }),
    );
    expect(may.top_tenants.data.map((t) => t.tenant_id)).toEqual([tenants[0]]);
    expect(may.totals.revenue_usd).toBe('1.000000000');
  });

  it('shows batch lines apart from online calls by day, by model version and in the totals, with a channel filter', async () => {
    const id = newId('ten');
    await h.stores.tenants.create({
      id,
      name: 'Batcher',
      status: 'active',
      plan: 'payg',
      createdAt: new Date().toISOString(),
    });
    const day = '2026-07-15';
    const at = `${day}T08:00:00.000Z`;
    const records = [
      ...Array.from({ length: 4 }, (_, i) =>
        event(id, 'key_b', at, { requestId: newId('req', Date.parse(at) + i), costNanoUsd: 1_000 }),
      ),
      ...Array.from({ length: 6 }, (_, i) =>
        event(id, 'key_b', at, {
          requestId: newId('req', Date.parse(at) + 10 + i),
          costNanoUsd: 500,
          channel: 'batch',
        }),
      ),
    ];
    await Promise.all(records.map((e) => h.stores.usage.record(e)));
    const q = `start_date=${day}&end_date=${day}`;
    const p = await json<Platform>(await h.call(`/admin/usage?${q}`, { key: op.token }));
    expect(
      p.by_day.map((d) => [d.date, `${d.model}@${d.version}`, d.channel, d.requests, d.cost_usd]),
    ).toEqual([
      [day, 'sentiment@v1', 'online', 4, '0.000004000'],
      [day, 'sentiment@v1', 'batch', 6, '0.000003000'],
    ]);
    expect(p.by_model.map((m) => [m.channel, m.requests, m.cost_usd])).toEqual([
      ['online', 4, '0.000004000'],
      ['batch', 6, '0.000003000'],
    ]);
    expect(p.totals).toMatchObject({ requests: 10, cost_usd: '0.000007000', revenue_usd: '0.000007000' });
    expect(p.totals_by_channel).toMatchObject({
      online: { requests: 4, input_tokens: 40, cost_usd: '0.000004000' },
      batch: { requests: 6, input_tokens: 60, cost_usd: '0.000003000' },
    });
    const batchOnly = await json<Platform>(
      await h.call(`/admin/usage?${q}&channel=batch`, { key: op.token }),
    );
    expect(batchOnly.by_day.map((d) => d.channel)).toEqual(['batch']);
    expect(batchOnly.totals).toMatchObject({ requests: 6, revenue_usd: '0.000003000' });
    // Top tenants rank by all their usage, whatever the filter.
    expect(batchOnly.top_tenants.data[0]).toMatchObject({ tenant_id: id, cost_usd: '0.000007000' });
    await expectError(
      await h.call(`/admin/usage?${q}&channel=all`, { key: op.token }),
      400,
      'invalid_request',
      'channel',
    );
  });

  it('is for operators only, and checks its range', async () => {
    const owner = await newOwner(h);
    await expectError(await h.call('/admin/usage', { key: owner.token }), 403, 'forbidden');
    await expectError(await h.call('/admin/usage?top=0', { key: op.token }), 400, 'invalid_request', 'top');
  });
});

describe('usage answers say how fresh the aggregates are', () => {
  let h: Harness;
  let owner: TestUser;
  let op: TestOperator;
  let reader: string;
  /**
   * The harness's poller notes that a shard is caught up at most every 5 s (as `npm start`'s does),
   * and DynamoDB Local dates stream records to the minute, so after `h.drainUsage()` as_of moves on
   * only when a note is due. This second poller over the same consumer (its checkpoints keep every
   * change applied once) notes it on every drain: after `drain()`, as_of is the drain's time.
   */
  let poller: StreamPoller;
  const drain = async () => {
    await h.drainUsage();
    await poller.drain();
  };
  beforeAll(async () => {
    h = await createHarness();
    owner = await newOwner(h);
    op = await newOperator(h);
    reader = (await createKey(h, owner, { name: 'reader', scopes: ['usage:read'] })).secret;
    poller = new StreamPoller(
      h.stores.dynamo.client,
      tableName(h.config.STAGE, 'usage'),
      h.stores.usageConsumer,
      { caughtUpEveryMs: 0 },
    );
  });
  afterAll(() => poller?.stop());

  /** Each instance reuses the consumer's checkpoints for up to FRESHNESS_CACHE_MS: wait it out. */
  const pastCache = () => new Promise((resolve) => setTimeout(resolve, FRESHNESS_CACHE_MS + 100));
  const today = () => new Date().toISOString().slice(0, 10);
  const ms = (iso: string | null) => {
    expect(iso).toEqual(expect.any(String));
    expect(new Date(iso!).toISOString()).toBe(iso);
    return Date.parse(iso!);
  };
  /** Every answer that reports usage from the aggregates, by whom may read it. */
  const answers = () =>
    [
      ['/account/usage', owner.token],
      ['/v1/usage', reader],
      [`/admin/tenants/${owner.tenantId}/usage`, op.token],
      ['/admin/usage', op.token],
      ['/account/limits', owner.token],
    ] as const;
  /** Through the app alone: unlike `h.call`, nothing drains the usage stream first. */
  const direct = (path: string, token: string, headers: Record<string, string> = {}) =>
    h.app.request(path, { headers: { authorization: `Bearer ${token}`, ...headers } });
  type Answer = {
    freshness: Freshness;
    totals?: { requests: number };
    month?: { used: { cost_usd: string } };
  };
  const read = async (path: string, token: string, viaHarness = true) => {
    const res = viaHarness ? await h.call(path, { key: token }) : await direct(path, token);
    expect(res.status, await res.clone().text()).toBe(200);
    const body = await json<Answer>(res);
    // The header says what the field says.
    expect(res.headers.get('x-usage-as-of')).toBe(body.freshness.as_of);
    return body;
  };

  it('every usage answer has `freshness` and `x-usage-as-of`; as_of moves forward once new usage is applied', async () => {
    const before = await Promise.all(answers().map(([p, k]) => read(p, k)));
    for (const { freshness } of before) {
      expect(ms(freshness.as_of)).toBeLessThanOrEqual(Date.now());
      expect(Number.isInteger(freshness.lag_ms) && freshness.lag_ms! >= 0).toBe(true);
    }
    await pastCache();
    expect(await h.stores.usage.record(event(owner.tenantId, newId('key'), new Date().toISOString()))).toBe(
      'recorded',
    );
    await drain();
    const after = await Promise.all(answers().map(([p, k]) => read(p, k, false)));
    for (const [i, { freshness }] of after.entries()) {
      expect(ms(freshness.as_of), answers()[i]![0]).toBeGreaterThan(ms(before[i]!.freshness.as_of));
    }
    // The request is in the totals of each.
    expect(after[0]!.totals!.requests).toBe(before[0]!.totals!.requests + 1);
    expect(after[3]!.totals!.requests).toBe(before[3]!.totals!.requests + 1);
    expect(Number(after[4]!.month!.used.cost_usd)).toBeGreaterThan(Number(before[4]!.month!.used.cost_usd));
  });

  it('totals leave out records the consumer has not applied yet, and as_of is earlier than them', async () => {
    const range = `?start_date=${today()}&end_date=${today()}`;
    const paths = {
      account: [`/account/usage${range}`, owner.token],
      key: [`/v1/usage${range}`, reader],
      admin: [`/admin/usage${range}`, op.token],
      limits: ['/account/limits', owner.token],
    } as const;
    const all = async (viaHarness: boolean) => {
      const out: Record<string, Answer> = {};
      for (const [name, [p, k]] of Object.entries(paths)) out[name] = await read(p, k, viaHarness);
      return out;
    };
    const applied = await all(true);
    await pastCache();
    const at = new Date().toISOString();
    for (let i = 0; i < 2; i++) {
      expect(await h.stores.usage.record(event(owner.tenantId, newId('key'), at))).toBe('recorded');
    }
    // Recorded (the ledger has them) but not applied: not in the totals, and said so.
    expect((await h.stores.usage.listEvents(owner.tenantId)).filter((e) => e.at === at)).toHaveLength(2);
    const pending = await all(false);
    for (const name of ['account', 'key', 'admin'] as const) {
      expect(pending[name]!.totals!.requests, name).toBe(applied[name]!.totals!.requests);
    }
    expect(pending.limits!.month!.used.cost_usd).toBe(applied.limits!.month!.used.cost_usd);
    for (const [name, { freshness }] of Object.entries(pending)) {
      expect(ms(freshness.as_of), name).toBeLessThan(Date.parse(at));
      expect(freshness.lag_ms, name).toBeGreaterThanOrEqual(FRESHNESS_CACHE_MS);
    }
    // Once the consumer has applied them, they are in, and as_of has moved past them.
    await pastCache();
    await drain();
    const caughtUp = await all(false);
    for (const name of ['account', 'key', 'admin'] as const) {
      expect(caughtUp[name]!.totals!.requests, name).toBe(applied[name]!.totals!.requests + 2);
    }
    for (const [name, { freshness }] of Object.entries(caughtUp)) {
      expect(ms(freshness.as_of), name).toBeGreaterThan(Date.parse(at));
    }
  });

  it('CSV answers carry x-usage-as-of too, and the OpenAPI document describes the field and the header', async () => {
    for (const [path, token, headers] of [
      ['/account/usage?format=csv', owner.token, {}],
      ['/v1/usage', reader, { accept: 'text/csv' }],
      [`/admin/tenants/${owner.tenantId}/usage?format=csv`, op.token, {}],
    ] as const) {
      const res = await h.call(path, { key: token, headers });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/csv/);
      expect(ms(res.headers.get('x-usage-as-of')), path).toBeLessThanOrEqual(Date.now());
    }
    const doc = await json<{
      paths: Record<string, { get: { responses: Record<string, { headers?: Record<string, unknown> }> } }>;
      components: { schemas: Record<string, { properties: Record<string, { description?: string }> }> };
    }>(await h.call('/openapi.json'));
    for (const path of ['/v1/usage', '/account/usage', '/admin/usage', '/account/limits']) {
      expect(doc.paths[path]?.get.responses['200']?.headers?.['x-usage-as-of'], path).toBeDefined();
    }
    for (const schema of ['UsageResponse', 'PlatformUsage', 'Limits']) {
      expect(doc.components.schemas[schema]?.properties.freshness, schema).toBeDefined();
    }
    expect(doc.components.schemas.UsageFreshness?.properties.as_of?.description).toMatch(
      /may not be in these totals yet; the ledger .* is never behind/,
    );
  });
});
