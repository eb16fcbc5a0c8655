import OpenAI, { toFile } from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { lineRequestId } from '#shared/batch/ids';
import { createHarness, type Harness, type TestTenant } from '../../support/harness';
import { sdk } from '../../support/openai-sdk';

/** The official SDK over the app in process. */
const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
const sentimentLine = (i: number, text = `Review ${i}: I love how fast this is.`) => ({
  custom_id: `r-${i}`,
  method: 'POST',
  url: '/v1/text/sentiment',
  body: { model: 'sentiment', input: text },
});

async function upload(client: OpenAI, text: string, name = 'batch.jsonl') {
  return client.files.create({ file: await toFile(Buffer.from(text), name), purpose: 'batch' });
}

describe('the Files and Batches APIs with the official SDK', () => {
  let h: Harness;
  let t: TestTenant;
  let client: OpenAI;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant({ plan: 'payg' });
    client = sdk(h, t.key);
  });

  it('runs a sentiment batch: every line answered once, in the output file, billed once at half the online price', async () => {
    const rows = Array.from({ length: 7 }, (_, i) => sentimentLine(i));
    const file = await upload(client, jsonl(rows));
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', bytes: Buffer.byteLength(jsonl(rows)) });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/text/sentiment' as never,
      completion_window: '24h',
      metadata: { job: 'reviews' },
    });
    expect(batch).toMatchObject({
      status: 'in_progress',
      request_counts: { total: 7, completed: 0, failed: 0 },
    });
    expect(await h.runBatches()).toBeGreaterThan(0);
    const done = await client.batches.retrieve(batch.id);
    expect(done).toMatchObject({
      status: 'completed',
      request_counts: { total: 7, completed: 7, failed: 0 },
    });
    expect(done.completed_at).toBeGreaterThanOrEqual(done.created_at);
    expect(done.error_file_id).toBeNull();
    const out = (await (await client.files.content(done.output_file_id!)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out.map((o) => o.custom_id).sort()).toEqual(rows.map((r) => r.custom_id).sort());
    for (const o of out) {
      expect(o.response.status_code).toBe(200);
      expect(o.response.body.data[0].label).toBe('positive');
    }
    // Billed once per line, at half the online price (sentiment: 100 nano-USD a token online).
    await h.drainUsage();
    const online = await h.call('/v1/text/sentiment', { key: t.key, json: rows[0]!.body });
    const onlineCost = Number(
      ((await online.json()) as { usage: { cost_usd: string } }).usage.cost_usd.replace('.', ''),
    );
    for (const [i, o] of out.entries()) {
      const index = Number(o.custom_id.slice(2));
      const record = await h.stores.usage.get(t.tenantId, lineRequestId(batch.id, index));
      expect(record, `line ${i}`).toMatchObject({ channel: 'batch', status: 'succeeded' });
      expect(record!.costNanoUsd * 2).toBe(onlineCost);
      expect(o.response.body.usage.cost_usd).toBe(`0.${String(record!.costNanoUsd).padStart(9, '0')}`);
    }
  });

  it('refuses a bad file naming its line, and keeps nothing', async () => {
    const cases: [string, RegExp][] = [
      [`${JSON.stringify(sentimentLine(0))}\n{not json\n`, /Line 2: is not valid JSON/],
      [jsonl([sentimentLine(0), sentimentLine(0)]), /Line 2: custom_id 'r-0' is already used on line 1/],
      [jsonl([{ ...sentimentLine(0), custom_id: 'has space' }]), /Line 1: custom_id must be/],
      [jsonl([{ ...sentimentLine(0), url: '/v1/models' }]), /Line 1: url must be one of/],
    ];
    const before = (await client.files.list()).data.length;
    for (const [text, message] of cases) {
      const err = await upload(client, text).catch((e: unknown) => e);
      expect(err, text).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ param: 'file' });
      expect((err as Error).message).toMatch(message);
    }
    expect((await client.files.list()).data.length).toBe(before);
  });

  it('refuses at creation a body for another endpoint or an unknown model, naming the line', async () => {
    const file = await upload(
      client,
      jsonl([sentimentLine(0), { ...sentimentLine(1), body: { model: 'nope', input: 'x' } }]),
    );
    const err = await client.batches
      .create({ input_file_id: file.id, endpoint: '/v1/text/sentiment' as never, completion_window: '24h' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toMatch(/Line 2: body\.model: the model 'nope' does not exist/);
    const wrong = await client.batches
      .create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })
      .catch((e: unknown) => e);
    expect((wrong as Error).message).toMatch(/Line 1: url is \/v1\/text\/sentiment/);
    expect((await client.batches.list()).data.every((b) => b.input_file_id !== file.id)).toBe(true);
  });

  it("is another tenant's file or batch: 404", async () => {
    const other = await h.newTenant();
    const file = await upload(client, jsonl([sentimentLine(0)]));
    const theirs = sdk(h, other.key);
    await expect(theirs.files.retrieve(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(theirs.files.content(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(theirs.files.delete(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      theirs.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/text/sentiment' as never,
        completion_window: '24h',
      }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/text/sentiment' as never,
      completion_window: '24h',
    });
    await expect(theirs.batches.retrieve(batch.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(theirs.batches.cancel(batch.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    // A file a running batch reads cannot be deleted; once the batch is done, it can.
    const inUse = await client.files.delete(file.id).catch((e: unknown) => e);
    expect(inUse).toBeInstanceOf(OpenAI.ConflictError);
    await h.runBatches();
    expect(await client.files.delete(file.id)).toMatchObject({ id: file.id, deleted: true });
    await expect(client.files.retrieve(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('batches embeddings and image moderation as well, each line at its endpoint', async () => {
    const cases = [
      {
        url: '/v1/embeddings',
        body: { model: 'embeddings', input: 'batch me' },
        check: (b: { data: { embedding: number[] }[] }) =>
          expect(b.data[0]!.embedding.length).toBeGreaterThan(10),
      },
      {
        url: '/v1/images/moderations',
        body: { model: 'image-moderation@mobilenet-v2', image: `data:image/png;base64,${PNG_1X1}` },
        check: (b: { results: { flagged: boolean }[] }) =>
          expect(typeof b.results[0]!.flagged).toBe('boolean'),
      },
    ];
    for (const c of cases) {
      const file = await upload(
        client,
        jsonl([{ custom_id: 'only', method: 'POST', url: c.url, body: c.body }]),
      );
      const batch = await client.batches.create({
        input_file_id: file.id,
        endpoint: c.url as never,
        completion_window: '24h',
      });
      await h.runBatches();
      const done = await client.batches.retrieve(batch.id);
      expect(done, c.url).toMatchObject({
        status: 'completed',
        request_counts: { total: 1, completed: 1, failed: 0 },
      });
      const [line] = (await (await client.files.content(done.output_file_id!)).text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(line.response.status_code, c.url).toBe(200);
      c.check(line.response.body as never);
    }
  });

  it('refuses an oversize file and an oversize line, naming them', async () => {
    const line = JSON.stringify(sentimentLine(0, 'x'.repeat(1024 * 1024)));
    const big = await upload(client, `${JSON.stringify(sentimentLine(1))}\n${line}\n`).catch(
      (e: unknown) => e,
    );
    expect(big).toBeInstanceOf(OpenAI.BadRequestError);
    expect((big as Error).message).toMatch(/Line 2: is larger than 1048576 bytes/);
    const rows = Array.from({ length: 5000 }, (_, i) => sentimentLine(i, `${'long review '.repeat(80)}${i}`));
    const tooLarge = await upload(client, jsonl(rows)).catch((e: unknown) => e);
    expect(tooLarge).toBeInstanceOf(OpenAI.APIError);
    expect((tooLarge as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    expect((tooLarge as Error).message).toMatch(/larger than \d+ bytes/);
  });
});

/** A 1x1 white PNG. */
const PNG_1X1 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC';
