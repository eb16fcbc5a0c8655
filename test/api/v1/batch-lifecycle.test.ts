import OpenAI, { toFile } from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { lineRequestId } from '#shared/batch/ids';
import type { WorkMessage } from '#shared/batch/types';
import type { DynamoWorkQueue } from '#shared/batch/work-queue';
import { createBatchWorker } from '../../../functions/jobs/batch-worker';
import { createHarness, type Harness, type TestTenant } from '../../support/harness';
import { sdk } from '../../support/openai-sdk';

const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
const sentiment = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    custom_id: `r-${i}`,
    method: 'POST',
    url: '/v1/text/sentiment',
    body: { model: 'sentiment', input: `Line ${i}: the service was quick and kind.` },
  }));

async function start(client: OpenAI, rows: unknown[]) {
  const file = await client.files.create({
    file: await toFile(Buffer.from(jsonl(rows)), 'in.jsonl'),
    purpose: 'batch',
  });
  return client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/text/sentiment' as never,
    completion_window: '24h',
  });
}

async function outputOf(client: OpenAI, id: string | null) {
  if (!id) return [];
  const text = await (await client.files.content(id)).text();
  return text
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as {
          custom_id: string;
          response: { body: { usage: { cost_usd: string } } } | null;
          error: { code: string } | null;
        },
    );
}

const nano = (usd: string) => Math.round(Number(usd) * 1e9);

describe('a batch from start to end: cancellation, expiry, limits and a crash', () => {
  let h: Harness;
  let clock = Date.now();
  beforeAll(async () => {
    h = await createHarness({
      now: () => new Date(clock),
      env: { BATCH_CHUNK_LINES: '10', BATCH_LINES_PER_DAY: '400', BATCH_VISIBILITY_MS: '500' },
    });
  });

  const queue = () => h.deps.batch.queue as DynamoWorkQueue;
  /** Works one chunk message (of whatever batch is first on the queue). */
  async function workOne() {
    const [m] = await queue().receive(1);
    if (!m) throw new Error('the queue is empty');
    await h.batchWorker.handle(m.body, m.receives);
    await queue().delete(m);
    return m.body;
  }

  it('cancelled: no new line starts, the lines answered are kept and billed, the rest are not', async () => {
    const t = await h.newTenant({ plan: 'payg' });
    const client = sdk(h, t.key);
    const batch = await start(client, sentiment(30));
    await workOne();
    const cancelling = await client.batches.cancel(batch.id);
    expect(cancelling.status).toBe('cancelling');
    expect(cancelling.cancelling_at).toBeGreaterThanOrEqual(batch.created_at);
    await h.runBatches();
    const done = await client.batches.retrieve(batch.id);
    expect(done).toMatchObject({
      status: 'cancelled',
      request_counts: { total: 30, completed: 10, failed: 0 },
    });
    expect(done.cancelled_at).toBeGreaterThanOrEqual(done.cancelling_at ?? 0);
    const out = await outputOf(client, done.output_file_id ?? null);
    expect(out.map((o) => o.custom_id).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `r-${i}`).sort());
    for (let i = 0; i < 30; i++) {
      const record = await h.stores.usage.get(t.tenantId, lineRequestId(batch.id, i));
      if (i < 10) expect(record, `line ${i}`).toMatchObject({ status: 'succeeded', channel: 'batch' });
      else expect(record, `line ${i}`).toBeUndefined();
    }
    // Cancelling again changes nothing.
    expect((await client.batches.cancel(batch.id)).status).toBe('cancelled');
  });

  it('expired: lines not run within 24 h are in the error file as batch_expired and not billed', async () => {
    const t = await h.newTenant({ plan: 'payg' });
    const client = sdk(h, t.key);
    const batch = await start(client, sentiment(20));
    await workOne();
    clock += 24 * 3600_000 + 1000;
    try {
      await h.runBatches();
    } finally {
      clock = Date.now();
    }
    const done = await client.batches.retrieve(batch.id);
    expect(done).toMatchObject({
      status: 'expired',
      request_counts: { total: 20, completed: 10, failed: 10 },
    });
    expect(done.expired_at).toBeGreaterThanOrEqual(done.expires_at ?? 0);
    const errors = await outputOf(client, done.error_file_id ?? null);
    expect(errors).toHaveLength(10);
    expect(errors.every((e) => e.error?.code === 'batch_expired' && e.response === null)).toBe(true);
    for (let i = 10; i < 20; i++)
      expect(await h.stores.usage.get(t.tenantId, lineRequestId(batch.id, i))).toBeUndefined();
  });

  it('a spend cap reached mid-batch stops it: the rest failed with its code, never over the cap', async () => {
    // Each line is 10 tokens: 500 nano-USD at the batch price; the cap pays for 4 of them.
    const t = await h.newTenant({ plan: 'payg', spendCapNanoUsd: 2_000 });
    const client = sdk(h, t.key);
    const batch = await start(client, sentiment(25));
    await h.runBatches();
    const done = await client.batches.retrieve(batch.id);
    expect(done.status).toBe('completed');
    expect(done.errors?.data?.[0]?.code).toBe('spend_cap_reached');
    const out = await outputOf(client, done.output_file_id ?? null);
    const errors = await outputOf(client, done.error_file_id ?? null);
    expect(out.length + errors.length).toBe(25);
    expect(out.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.error?.code === 'spend_cap_reached' || e.response !== null)).toBe(true);
    const billed = out.reduce((sum, o) => sum + nano(o.response!.body.usage.cost_usd), 0);
    expect(billed).toBeLessThanOrEqual(2_000);
    expect(done.request_counts).toEqual({ total: 25, completed: out.length, failed: errors.length });
  });

  it('uses none of the online per-minute limits, and has its own limit of lines a day', async () => {
    const t = await h.newTenant({ plan: 'payg', limitOverrides: { requestsPerMinute: 3 } });
    const client = sdk(h, t.key);
    const batch = await start(client, sentiment(40));
    await h.runBatches();
    expect(await client.batches.retrieve(batch.id)).toMatchObject({
      status: 'completed',
      request_counts: { total: 40, completed: 40, failed: 0 },
    });
    // The online limit of 3 a minute is untouched by 40 batch lines.
    for (let i = 0; i < 3; i++) {
      const res = await h.call('/v1/text/sentiment', {
        key: t.key,
        json: { model: 'sentiment', input: 'fine' },
      });
      expect(res.status).toBe(200);
    }
    // 400 lines a day: 40 used, 361 more are refused, changing nothing.
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl(sentiment(361))), 'big.jsonl'),
      purpose: 'batch',
    });
    const refused = await client.batches
      .create({ input_file_id: file.id, endpoint: '/v1/text/sentiment' as never, completion_window: '24h' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect((refused as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('x-should-retry')).toBe(
      'false',
    );
    expect((refused as Error).message).toMatch(/batch lines a day/);
    expect((await client.batches.list()).data.map((b) => b.id)).toEqual([batch.id]);
  });

  it('a worker that dies after a line is billed and before its answer is written: answered and billed once', async () => {
    const t: TestTenant = await h.newTenant({ plan: 'payg' });
    const client = sdk(h, t.key);
    const batch = await start(client, sentiment(10));
    // The first worker dies at line 3's answer: its usage record is written, its result is not.
    const store = h.deps.batch.store;
    const dying = createBatchWorker({
      data: h.deps,
      batch: {
        ...h.deps.batch,
        store: Object.assign(Object.create(store), {
          writeLine: async (...args: Parameters<typeof store.writeLine>) => {
            if (args[3].line === 3) throw new Error('worker died');
            return store.writeLine(...args);
          },
        }),
      },
    });
    const [m] = await queue().receive(1);
    await expect(dying.handle(m!.body as WorkMessage, m!.receives)).rejects.toThrow('worker died');
    expect(await h.stores.usage.get(t.tenantId, lineRequestId(batch.id, 3))).toMatchObject({
      status: 'succeeded',
    });
    // The message comes back after its visibility timeout, to a worker that lives.
    await new Promise((r) => setTimeout(r, 600));
    await h.runBatches();
    const done = await client.batches.retrieve(batch.id);
    expect(done).toMatchObject({
      status: 'completed',
      request_counts: { total: 10, completed: 10, failed: 0 },
    });
    const out = await outputOf(client, done.output_file_id ?? null);
    expect(out.map((o) => o.custom_id).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `r-${i}`).sort());
    // Billed once: the usage the stream aggregated equals the output's costs.
    await h.drainUsage();
    const usage = (await (await h.call('/v1/usage', { key: t.key })).json()) as {
      data: { cost_usd: string }[];
    };
    const aggregated = usage.data.reduce((sum, d) => sum + nano(d.cost_usd), 0);
    expect(aggregated).toBe(out.reduce((sum, o) => sum + nano(o.response!.body.usage.cost_usd), 0));
  });

  it('a worker near the end of its invocation starts no line, and hands the chunk back to the queue', async () => {
    const t = await h.newTenant({ plan: 'payg' });
    const client = sdk(h, t.key);
    const batch = await start(client, sentiment(10));
    const [m] = await queue().receive(1);
    // Less time left than a line may take (three model timeouts): nothing runs, nothing is lost.
    await h.batchWorker.handle(m!.body, m!.receives, Date.now() + 1_000);
    await queue().delete(m!);
    expect((await client.batches.retrieve(batch.id)).request_counts).toMatchObject({ completed: 0 });
    await h.runBatches();
    expect(await client.batches.retrieve(batch.id)).toMatchObject({
      status: 'completed',
      request_counts: { total: 10, completed: 10, failed: 0 },
    });
  });
});
