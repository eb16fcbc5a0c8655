import { beforeAll, describe, expect, it } from 'vitest';
import type { DynamoWorkQueue } from '#shared/batch/work-queue';
import {
  createKey,
  expectError,
  json,
  login,
  newOperator,
  newOwner,
  refreshed,
  type TestOperator,
  type TestUser,
} from '../../support/accounts';
import { createHarness, type Harness } from '../../support/harness';

const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
const line = (i: number, model = 'sentiment') => ({
  custom_id: `r-${i}`,
  method: 'POST',
  url: '/v1/text/sentiment',
  body: { model, input: `Review ${i}: lovely.` },
});

type Backlog = {
  batches: {
    id: string;
    tenant_id: string;
    endpoint: string;
    status: string;
    models: string[];
    versions: string[];
    lines_total: number;
    lines_done: number;
    created_at: number;
    expires_at: number;
  }[];
  versions: { version: string; lines_waiting: number; answered_last_15m: number; answered_last_1h: number }[];
  queue: { waiting: number; dead: number } | null;
};

function clock() {
  let offsetMs = 0;
  return { now: () => new Date(Date.now() + offsetMs), advance: (ms: number) => (offsetMs += ms) };
}

describe('the operators’ batch backlog', () => {
  const time = clock();
  let h: Harness;
  let op: TestOperator;
  let owner: TestUser;
  let keyId: string;

  const backlog = async () => {
    const res = await h.call('/admin/batches', { key: op.token });
    expect(res.status, await res.clone().text()).toBe(200);
    return json<Backlog>(res);
  };
  const create = async (rows: unknown[]) => {
    const f = new FormData();
    f.set('file', new File([jsonl(rows)], 'b.jsonl'));
    f.set('endpoint', '/v1/text/sentiment');
    f.set('key_id', keyId);
    const res = await h.call('/account/batches', { key: owner.token, method: 'POST', body: f });
    expect(res.status, await res.clone().text()).toBe(201);
    return json<{ id: string }>(res);
  };

  beforeAll(async () => {
    h = await createHarness({ now: time.now, env: { BATCH_CHUNK_LINES: '2' } });
    op = await newOperator(h);
    owner = await newOwner(h);
    keyId = (await createKey(h, owner, { name: 'batch' })).id;
    // A second version of sentiment, for a batch whose lines name both.
    const v1 = (await h.stores.catalog.load()).models.get('sentiment')!.versions.get('v1')!;
    await h.stores.catalog.putVersionIfAbsent({ ...v1, version: 'v2', priceBook: 'pb-backlog-v2' });
    h.deps.resolver.invalidate();
  });

  it('shows active batches, lines waiting per version, throughput over 15 minutes and an hour, and the queue', async () => {
    const empty = await backlog();
    expect(empty).toMatchObject({ batches: [], versions: [], queue: { waiting: 0, dead: 0 } });

    const batch = await create(Array.from({ length: 5 }, (_, i) => line(i)));
    let b = await backlog();
    expect(b.batches).toEqual([
      expect.objectContaining({
        id: batch.id,
        tenant_id: owner.tenantId,
        endpoint: '/v1/text/sentiment',
        status: 'in_progress',
        models: ['sentiment'],
        versions: ['sentiment@v1'],
        lines_total: 5,
        lines_done: 0,
      }),
    ]);
    expect(b.batches[0]!.expires_at - b.batches[0]!.created_at).toBe(24 * 3600);
    expect(b.versions).toEqual([
      { version: 'sentiment@v1', lines_waiting: 5, answered_last_15m: 0, answered_last_1h: 0 },
    ]);
    // 5 lines in chunks of 2: 3 chunks queued.
    expect(b.queue).toEqual({ waiting: 3, dead: 0 });

    // One chunk runs: 2 lines answered now.
    const queue = h.deps.batch.queue as DynamoWorkQueue;
    const [m] = await queue.receive(1);
    await h.batchWorker.handle(m!.body, m!.receives);
    await queue.delete(m!);
    b = await backlog();
    expect(b.batches[0]).toMatchObject({ lines_done: 2 });
    expect(b.versions).toEqual([
      { version: 'sentiment@v1', lines_waiting: 3, answered_last_15m: 2, answered_last_1h: 2 },
    ]);
    expect(b.queue).toEqual({ waiting: 2, dead: 0 });

    // 20 minutes on: out of the 15-minute window, still in the hour's.
    time.advance(20 * 60 * 1000);
    op = { ...op, token: (await login(h, op.email, op.password)).body.access_token };
    owner = await refreshed(h, owner);
    b = await backlog();
    expect(b.versions[0]).toMatchObject({ answered_last_15m: 0, answered_last_1h: 2 });

    // Finished: off the active list; its lines still count in the hour's throughput.
    await h.runBatches();
    b = await backlog();
    expect(b.batches.find((x) => x.id === batch.id)).toBeUndefined();
    expect(b.versions).toEqual([
      { version: 'sentiment@v1', lines_waiting: 0, answered_last_15m: 3, answered_last_1h: 5 },
    ]);
    // An hour and more on, nothing is counted.
    time.advance(61 * 60 * 1000);
    op = { ...op, token: (await login(h, op.email, op.password)).body.access_token };
    owner = await refreshed(h, owner);
    expect((await backlog()).versions).toEqual([]);
  });

  it('splits the waiting lines of a batch naming two versions by its input file', async () => {
    const rows = [line(0, 'sentiment@v1'), line(1, 'sentiment@v2'), line(2, 'sentiment@v2')];
    const batch = await create(rows);
    const b = await backlog();
    expect(b.batches.find((x) => x.id === batch.id)?.versions.sort()).toEqual([
      'sentiment@v1',
      'sentiment@v2',
    ]);
    expect(b.versions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ version: 'sentiment@v2', lines_waiting: 2 }),
        expect.objectContaining({ version: 'sentiment@v1', lines_waiting: 1 }),
      ]),
    );
    // Cancelled: its lines no longer wait.
    await h.call(`/account/batches/${batch.id}/cancel`, { key: owner.token, method: 'POST' });
    const after = await backlog();
    expect(after.versions.every((v) => v.lines_waiting === 0)).toBe(true);
    await h.runBatches();
  });

  it('is for operators only', async () => {
    await expectError(await h.call('/admin/batches', { key: owner.token }), 403, 'forbidden');
    await expectError(await h.call('/admin/batches'), 401, 'missing_credentials');
  });
});
