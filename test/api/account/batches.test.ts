import { beforeAll, describe, expect, it } from 'vitest';
import type { DynamoWorkQueue } from '#shared/batch/work-queue';
import {
  addMember,
  createKey,
  expectError,
  json,
  newOwner,
  refreshed,
  type TestUser,
} from '../../support/accounts';
import { createHarness, type Harness } from '../../support/harness';

const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
const sentimentLine = (i: number) => ({
  custom_id: `r-${i}`,
  method: 'POST',
  url: '/v1/text/sentiment',
  body: { model: 'sentiment', input: `Review ${i}: I love how fast this is.` },
});

type AccountBatch = {
  id: string;
  status: string;
  endpoint: string;
  key_id: string;
  models: string[];
  metadata: Record<string, string> | null;
  output_file_id: string | null;
  error_file_id: string | null;
  request_counts: { total: number; completed: number; failed: number };
};

function form(fields: { text?: string; endpoint?: string; key_id?: string; metadata?: string }) {
  const f = new FormData();
  if (fields.text !== undefined)
    f.set('file', new File([fields.text], 'reviews.jsonl', { type: 'application/jsonl' }));
  if (fields.endpoint !== undefined) f.set('endpoint', fields.endpoint);
  if (fields.key_id !== undefined) f.set('key_id', fields.key_id);
  if (fields.metadata !== undefined) f.set('metadata', fields.metadata);
  return f;
}

function clock() {
  let offsetMs = 0;
  return { now: () => new Date(Date.now() + offsetMs), advance: (ms: number) => (offsetMs += ms) };
}

describe('the console batch routes', () => {
  const time = clock();
  let h: Harness;
  let owner: TestUser;
  let developer: TestUser;
  let viewer: TestUser;
  let billing: TestUser;
  let keyId: string;

  const create = (user: TestUser, fields: Parameters<typeof form>[0]) =>
    h.call('/account/batches', { key: user.token, method: 'POST', body: form(fields) });
  const list = async (user: TestUser) => {
    const res = await h.call('/account/batches', { key: user.token });
    expect(res.status, await res.clone().text()).toBe(200);
    return json<{ data: AccountBatch[]; has_more: boolean; last_id: string | null }>(res);
  };
  const files = async (tenantId: string) =>
    (await h.deps.batch.store.listFiles(tenantId, { limit: 100 })).files;

  beforeAll(async () => {
    h = await createHarness({ now: time.now });
    owner = await newOwner(h);
    developer = await addMember(h, owner, 'developer');
    viewer = await addMember(h, owner, 'viewer');
    billing = await addMember(h, owner, 'billing');
    keyId = (await createKey(h, owner, { name: 'batch' })).id;
  });

  it('uploads and creates in one call; lists newest first with live counts; downloads the output', async () => {
    const rows = Array.from({ length: 3 }, (_, i) => sentimentLine(i));
    const res = await create(developer, {
      text: jsonl(rows),
      endpoint: '/v1/text/sentiment',
      key_id: keyId,
      metadata: '{"job":"reviews"}',
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const batch = await json<AccountBatch>(res);
    expect(batch).toMatchObject({
      status: 'in_progress',
      endpoint: '/v1/text/sentiment',
      key_id: keyId,
      models: ['sentiment'],
      metadata: { job: 'reviews' },
      request_counts: { total: 3, completed: 0, failed: 0 },
    });
    // Its files wait until it ends.
    await expectError(
      await h.call(`/account/batches/${batch.id}/output`, { key: viewer.token }),
      404,
      'not_found',
      'batch_id',
    );

    const second = await json<AccountBatch>(
      await create(owner, { text: jsonl([sentimentLine(9)]), endpoint: '/v1/text/sentiment', key_id: keyId }),
    );
    const page = await list(viewer);
    expect(page.data.map((b) => b.id).slice(0, 2)).toEqual([second.id, batch.id]);
    const paged = await json<{ data: AccountBatch[]; has_more: boolean }>(
      await h.call('/account/batches?limit=1', { key: viewer.token }),
    );
    expect(paged).toMatchObject({ has_more: true, data: [{ id: second.id }] });

    await h.runBatches();
    const done = await json<AccountBatch>(
      await h.call(`/account/batches/${batch.id}`, { key: viewer.token }),
    );
    expect(done).toMatchObject({
      status: 'completed',
      request_counts: { total: 3, completed: 3, failed: 0 },
    });
    const out = await h.call(`/account/batches/${batch.id}/output`, { key: viewer.token });
    expect(out.status).toBe(200);
    expect(out.headers.get('content-type')).toContain('application/jsonl');
    expect(out.headers.get('content-disposition')).toContain(`${batch.id}_output.jsonl`);
    const answers = (await out.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { custom_id: string; response: { status_code: number } });
    expect(answers.map((a) => a.custom_id).sort()).toEqual(['r-0', 'r-1', 'r-2']);
    expect(answers.every((a) => a.response.status_code === 200)).toBe(true);
    // No line failed: no error file.
    const noErrors = await expectError(
      await h.call(`/account/batches/${batch.id}/errors`, { key: viewer.token }),
      404,
      'not_found',
      'batch_id',
    );
    expect(noErrors.message).toContain('has no error file');
    // The lines ran as the chosen key's.
    const usage = await h.stores.usage.listEvents(owner.tenantId);
    expect(usage.filter((e) => e.keyId === keyId && e.channel === 'batch').length).toBeGreaterThanOrEqual(3);
  });

  it('lets viewers read but not create or cancel, and billing neither', async () => {
    const mine = await json<AccountBatch>(
      await create(owner, { text: jsonl([sentimentLine(1)]), endpoint: '/v1/text/sentiment', key_id: keyId }),
    );
    const before = (await list(owner)).data.length;
    await expectError(
      await create(viewer, {
        text: jsonl([sentimentLine(1)]),
        endpoint: '/v1/text/sentiment',
        key_id: keyId,
      }),
      403,
      'forbidden',
    );
    await expectError(
      await h.call(`/account/batches/${mine.id}/cancel`, { key: viewer.token, method: 'POST' }),
      403,
      'forbidden',
    );
    await expectError(await h.call('/account/batches', { key: billing.token }), 403, 'forbidden');
    expect((await list(owner)).data.length).toBe(before);
    const still = await json<AccountBatch>(
      await h.call(`/account/batches/${mine.id}`, { key: viewer.token }),
    );
    expect(still.status).toBe('in_progress');
    await h.runBatches();
  });

  it('refuses a bad key_id, a bad file, a bad endpoint and bad metadata, naming each, keeping nothing', async () => {
    const text = jsonl([sentimentLine(1), sentimentLine(2)]);
    const filesBefore = (await files(owner.tenantId)).length;
    const batchesBefore = (await list(owner)).data.length;

    await expectError(
      await create(owner, { text, endpoint: '/v1/text/sentiment', key_id: 'key_01NOPE' }),
      400,
      'invalid_request',
      'key_id',
    );
    // A revoked key is no key to bill.
    const revoked = (await createKey(h, owner, { name: 'old' })).id;
    expect(
      (await h.call(`/account/keys/${revoked}/revoke`, { key: owner.token, method: 'POST' })).status,
    ).toBe(200);
    await expectError(
      await create(owner, { text, endpoint: '/v1/text/sentiment', key_id: revoked }),
      400,
      'invalid_request',
      'key_id',
    );
    // Another tenant's key is not one of yours.
    const other = await newOwner(h);
    const theirKey = (await createKey(h, other, { name: 'theirs' })).id;
    await expectError(
      await create(owner, { text, endpoint: '/v1/text/sentiment', key_id: theirKey }),
      400,
      'invalid_request',
      'key_id',
    );

    // Line 2's body is not a sentiment request: named, and nothing is stored.
    const bad = jsonl([
      sentimentLine(1),
      { custom_id: 'r-2', method: 'POST', url: '/v1/text/sentiment', body: { model: 'sentiment' } },
    ]);
    const badLine = await expectError(
      await create(owner, { text: bad, endpoint: '/v1/text/sentiment', key_id: keyId }),
      400,
      'invalid_request',
      'file',
    );
    expect(badLine.message).toContain('Line 2');
    expect(badLine.message).toContain('body.input');
    // Not JSON on line 3.
    const broken = `${jsonl([sentimentLine(1), sentimentLine(2)])}{not json\n`;
    expect(
      (
        await expectError(
          await create(owner, { text: broken, endpoint: '/v1/text/sentiment', key_id: keyId }),
          400,
          'invalid_request',
          'file',
        )
      ).message,
    ).toContain('Line 3');
    // A model that does not do the endpoint's task.
    const wrong = jsonl([
      { ...sentimentLine(1), url: '/v1/embeddings', body: { model: 'sentiment', input: 'x' } },
    ]);
    expect(
      (
        await expectError(
          await create(owner, { text: wrong, endpoint: '/v1/embeddings', key_id: keyId }),
          400,
          'invalid_request',
          'file',
        )
      ).message,
    ).toContain('Line 1');
    await expectError(
      await create(owner, { text, endpoint: '/v1/audio/speech', key_id: keyId }),
      400,
      'invalid_request',
      'endpoint',
    );
    await expectError(
      await create(owner, { text, endpoint: '/v1/text/sentiment', key_id: keyId, metadata: '{nope' }),
      400,
      'invalid_request',
      'metadata',
    );
    await expectError(
      await create(owner, { endpoint: '/v1/text/sentiment', key_id: keyId }),
      400,
      'invalid_request',
      'file',
    );
    expect((await files(owner.tenantId)).length).toBe(filesBefore);
    expect((await list(owner)).data.length).toBe(batchesBefore);
  });

  it("answers another tenant's batch with 404 and changes nothing", async () => {
    const mine = await json<AccountBatch>(
      await create(owner, { text: jsonl([sentimentLine(1)]), endpoint: '/v1/text/sentiment', key_id: keyId }),
    );
    const other = await newOwner(h);
    for (const path of ['', '/output', '/errors']) {
      await expectError(
        await h.call(`/account/batches/${mine.id}${path}`, { key: other.token }),
        404,
        'not_found',
        'batch_id',
      );
    }
    await expectError(
      await h.call(`/account/batches/${mine.id}/cancel`, { key: other.token, method: 'POST' }),
      404,
      'not_found',
    );
    expect((await list(other)).data).toEqual([]);
    const still = await json<AccountBatch>(await h.call(`/account/batches/${mine.id}`, { key: owner.token }));
    expect(still.status).toBe('in_progress');
    await h.runBatches();
  });

  it('cancels; and a batch that expires has its lines in the error file', async () => {
    const rows = Array.from({ length: 4 }, (_, i) => sentimentLine(i));
    const cancelled = await json<AccountBatch>(
      await create(developer, { text: jsonl(rows), endpoint: '/v1/text/sentiment', key_id: keyId }),
    );
    const res = await h.call(`/account/batches/${cancelled.id}/cancel`, {
      key: developer.token,
      method: 'POST',
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await json<AccountBatch>(res)).status).toBe('cancelling');
    await h.runBatches();
    const ended = await json<AccountBatch>(
      await h.call(`/account/batches/${cancelled.id}`, { key: developer.token }),
    );
    expect(ended.status).toBe('cancelled');

    const expiring = await json<AccountBatch>(
      await create(developer, { text: jsonl(rows), endpoint: '/v1/text/sentiment', key_id: keyId }),
    );
    // Nothing runs it within the window (its queued chunks are taken and dropped).
    const queue = h.deps.batch.queue as DynamoWorkQueue;
    for (let got = await queue.receive(10); got.length > 0; got = await queue.receive(10))
      for (const m of got) await queue.delete(m);
    time.advance(25 * 3600 * 1000);
    await h.runBatches();
    const user = await refreshed(h, developer);
    const expired = await json<AccountBatch>(
      await h.call(`/account/batches/${expiring.id}`, { key: user.token }),
    );
    expect(expired).toMatchObject({
      status: 'expired',
      request_counts: { total: 4, completed: 0, failed: 4 },
    });
    const errors = await h.call(`/account/batches/${expiring.id}/errors`, { key: user.token });
    expect(errors.status).toBe(200);
    const lines = (await errors.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { custom_id: string; error: { code: string } });
    expect(lines.map((l) => l.custom_id).sort()).toEqual(['r-0', 'r-1', 'r-2', 'r-3']);
    expect(lines.every((l) => l.error.code === 'batch_expired')).toBe(true);
    await expectError(
      await h.call(`/account/batches/${expiring.id}/output`, { key: user.token }),
      404,
      'not_found',
    );
  });
});
