import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { STREAM_ALLOWANCE_STEP, StreamRecord, StreamRecordFailure } from '#api/routes/v1/chat/stream-record';
import { createDynamo, type Dynamo } from '#shared/db/client';
import { keys } from '#shared/db/keys';
import { tableName } from '#shared/db/tables';
import { newId } from '#shared/ids';
import type { UsageEvent } from '#shared/metering/usage-store';
import { type ModelClient, ModelStreamFailure } from '#shared/models/model-client';
import { SageMakerModelClient } from '#shared/models/sagemaker-client';
import { sweepReservations } from '../../../functions/jobs/sweep-reservations';
import { createHarness, type Harness, type TestTenant } from '../../support/harness';
import { parseSse, type SseEvent, sseChunks } from '../../support/sse';
import { StoreFaults } from '../../support/store-faults';

const STEP = STREAM_ALLOWANCE_STEP;
type Usage = { input_tokens: number; output_tokens: number };
type ModelLine = { delta?: string; finish_reason?: string; usage: Usage };
type Chunk = {
  choices: { delta: { content?: string }; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; cost_usd: string };
};

/**
 * The real runtime's chat model, with every stream line the gateway reads noted (in order), so a
 * test knows how many output tokens the content chunks a client received stand for; `breakAfter`
 * makes the model fail after that many lines.
 */
function notedModels() {
  const real = new SageMakerModelClient({ region: 'us-east-1', endpoint: inject('runtimeUrl') });
  const noted = { lines: [] as ModelLine[], breakAfter: undefined as number | undefined };
  async function* tee(stream: AsyncIterable<Uint8Array>) {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const part of stream) {
      buffer += decoder.decode(part, { stream: true });
      for (let i = buffer.indexOf('\n'); i !== -1; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i).trim();
        buffer = buffer.slice(i + 1);
        if (line) noted.lines.push(JSON.parse(line) as ModelLine);
      }
      if (noted.breakAfter !== undefined && noted.lines.length >= noted.breakAfter) {
        yield part;
        throw new ModelStreamFailure('model_error', 'told to fail mid-stream');
      }
      yield part;
    }
  }
  const models: ModelClient = {
    invoke: (call) => real.invoke(call),
    async invokeStream(call) {
      noted.lines.length = 0;
      const opened = await real.invokeStream(call);
      return opened.ok ? { ...opened, stream: tee(opened.stream) } : opened;
    },
  };
  return { models, noted };
}

/** Output tokens the client's content chunks stand for: the usage of the model line each came from. */
function receivedTokens(events: SseEvent[], lines: ModelLine[]): number {
  const contents = (sseChunks(events) as Chunk[]).filter((c) => c.choices[0]?.delta.content).length;
  const deltas = lines.filter((l) => l.delta);
  return contents === 0 ? 0 : deltas[contents - 1]!.usage.output_tokens;
}

/** The record as stored, every attribute (the open index's too). */
async function rawRecord(h: Harness, tenantId: string, requestId: string) {
  const out = await h.stores.dynamo.doc.send(
    new GetCommand({
      TableName: tableName(h.config.STAGE, 'usage'),
      Key: keys.usageEvent(tenantId, requestId),
      ConsistentRead: true,
    }),
  );
  return out.Item;
}

/** Past every open record's expiry (the model timeout + the grace). */
const afterExpiry = () => new Date(Date.now() + 10 * 60_000);

const stream = (h: Harness, t: TestTenant, maxTokens: number) =>
  h.call('/v1/chat/completions', {
    key: t.key,
    json: {
      model: 'chat',
      messages: [{ role: 'user', content: 'Tell me a long story.' }],
      max_tokens: maxTokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    },
  });

describe('a stream is recorded before it sends: an open record, grown a step ahead, closed at the end', () => {
  let h: Harness;
  let t: TestTenant;
  const { models, noted } = notedModels();
  beforeAll(async () => {
    h = await createHarness({ models });
  });
  afterEach(() => {
    noted.breakAfter = undefined;
  });

  it('the opening record exists, open, before the first content chunk reaches the client', async () => {
    t = await h.newTenant();
    const res = await stream(h, t, 3 * STEP);
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id')!;
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!/"content":"[^"]/.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended before any content');
      text += decoder.decode(value, { stream: true });
    }
    const atFirst = await rawRecord(h, t.tenantId, id);
    expect(atFirst).toMatchObject({
      status: 'open',
      units: { input_tokens: noted.lines[0]!.usage.input_tokens, output_tokens: STEP },
      expiresAt: expect.any(String),
      gsi1pk: expect.stringMatching(/^OPEN#/),
    });
    expect(Date.parse(atFirst!.expiresAt as string)).toBeGreaterThan(
      Date.now() + h.config.RESERVATION_GRACE_MS,
    );
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const events = parseSse(text);
    expect(events.at(-1)!.data).toBe('[DONE]');
    const usage = (sseChunks(events) as Chunk[]).at(-1)!.usage!;
    expect(usage.completion_tokens).toBe(3 * STEP);
    // One billed record, equal to the usage chunk, out of the open index.
    const events2 = await h.stores.usage.listEvents(t.tenantId, undefined, { all: true });
    expect(events2).toHaveLength(1);
    expect(events2[0]).toMatchObject({
      requestId: id,
      status: 'succeeded',
      units: { input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens },
      costNanoUsd: usage.prompt_tokens * 50 + usage.completion_tokens * 150,
    });
    const closed = await rawRecord(h, t.tenantId, id);
    expect(closed).not.toHaveProperty('gsi1pk');
    expect(closed).not.toHaveProperty('expiresAt');
    await h.drainUsage();
    const day = new Date().toISOString().slice(0, 10);
    expect(await h.stores.usage.listDaily(t.tenantId, day, day)).toMatchObject([
      { requests: 1, inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens },
    ]);
  });

  it('a model that fails mid-stream: the record is voided, not billed, and leaves the open index', async () => {
    t = await h.newTenant();
    noted.breakAfter = 5;
    const res = await stream(h, t, 100);
    const events = parseSse(await res.text());
    expect(events.at(-1)!.event).toBe('error');
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ error: { code: 'model_error' } });
    expect(JSON.parse(events.at(-1)!.data).error.message).toContain('not billed');
    const id = res.headers.get('x-request-id')!;
    const record = await rawRecord(h, t.tenantId, id);
    expect(record).toMatchObject({ status: 'void' });
    expect(record).not.toHaveProperty('gsi1pk');
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
    expect(await h.stores.usage.closeExpiredOpen(afterExpiry())).toBe(0);
  });
});

describe('a store that fails a stream record mid-way: the stream stops, the sweeper closes the record', () => {
  const faults = new StoreFaults();
  let dynamo: Dynamo;
  let h: Harness;
  const { models, noted } = notedModels();
  const recordUpdate = (c: { operation: string; body: string }) =>
    c.operation === 'UpdateItem' && c.body.includes('"EVENT#');
  beforeAll(async () => {
    dynamo = createDynamo({
      region: 'us-east-1',
      endpoint: inject('dynamoEndpoint'),
      requestTimeoutMs: 2_500,
    });
    await faults.install(dynamo.client, inject('dynamoEndpoint'));
    h = await createHarness({ dynamo, models });
  });
  afterEach(() => faults.clear());
  afterAll(async () => {
    await faults.close();
    dynamo.client.destroy();
  });

  it('the allowance write fails: an error event, at most the allowance sent, closed by the sweeper within a step', async () => {
    const t = await h.newTenant();
    faults.fail(recordUpdate, 'ProvisionedThroughputExceededException');
    const res = await stream(h, t, 4 * STEP);
    expect(res.status).toBe(200);
    const events = parseSse(await res.text());
    const last = events.at(-1)!;
    expect(last.event).toBe('error');
    const error = (JSON.parse(last.data) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('store_unavailable');
    expect(error.message).toContain(`at most ${STEP} output tokens`);
    expect(error.message).not.toContain('not billed');
    expect(events.some((e) => e.data === '[DONE]')).toBe(false);
    const received = receivedTokens(events, noted.lines);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(STEP);
    expect(faults.injected(recordUpdate)).toBeGreaterThan(0);

    // Left open at its allowance; nothing billed until the sweeper finds it past its expiry.
    const id = res.headers.get('x-request-id')!;
    faults.clear();
    expect(await h.stores.usage.get(t.tenantId, id)).toMatchObject({ status: 'open' });
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
    expect((await sweepReservations(h.stores.quotas, new Date(), h.stores.usage)).closed).toBe(0);
    const swept = await sweepReservations(h.stores.quotas, afterExpiry(), h.stores.usage);
    expect(swept.closed).toBeGreaterThanOrEqual(1);
    const billed = await h.stores.usage.listEvents(t.tenantId);
    expect(billed).toHaveLength(1);
    expect(billed[0]!.status).toBe('succeeded');
    const output = billed[0]!.units.output_tokens!;
    expect(output).toBeGreaterThanOrEqual(received);
    expect(output).toBeLessThanOrEqual(received + STEP);
    expect(billed[0]!.costNanoUsd).toBe(billed[0]!.units.input_tokens! * 50 + output * 150);
    expect(await rawRecord(h, t.tenantId, id)).not.toHaveProperty('gsi1pk');
    // Once only.
    expect((await sweepReservations(h.stores.quotas, afterExpiry(), h.stores.usage)).closed).toBe(0);
  });

  it('the closing write fails: every token sent, an error event instead of [DONE], closed at the allowance', async () => {
    const t = await h.newTenant();
    faults.fail(recordUpdate, 'ProvisionedThroughputExceededException');
    // Within one step: the only update is the close.
    const res = await stream(h, t, 20);
    const events = parseSse(await res.text());
    expect(events.at(-1)!.event).toBe('error');
    expect(JSON.parse(events.at(-1)!.data).error.code).toBe('store_unavailable');
    const received = receivedTokens(events, noted.lines);
    faults.clear();
    await sweepReservations(h.stores.quotas, afterExpiry(), h.stores.usage);
    const billed = await h.stores.usage.listEvents(t.tenantId);
    expect(billed.map((e) => e.units.output_tokens)).toEqual([20]);
    expect(received).toBeLessThanOrEqual(20);
  });

  it('the opening write fails: a plain 503 before any chunk, retryable, nothing billed', async () => {
    const t = await h.newTenant();
    faults.fail((c) => c.operation === 'PutItem' && c.body.includes('"EVENT#'), 'ThrottlingException');
    const res = await stream(h, t, 20);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-should-retry')).toBe('true');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
    faults.clear();
    expect(await h.stores.usage.listEvents(t.tenantId, undefined, { all: true })).toEqual([]);
  });
});

describe('an open record and the sweeper', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  const T0 = Date.parse('2026-08-20T10:00:00.000Z');
  const base = (tenantId: string): UsageEvent => ({
    requestId: newId('req', T0),
    tenantId,
    keyId: 'key_1',
    model: 'chat',
    version: 'tiny-1',
    units: {},
    costNanoUsd: 0,
    priceBook: 'pb',
    latencyMs: 0,
    status: 'open',
    at: new Date(T0).toISOString(),
  });

  it('a live writer moves the expiry on (even without new tokens), so the sweeper never closes its record', async () => {
    const tenantId = newId('ten');
    const event = base(tenantId);
    const id = event.requestId;
    let now = T0;
    const record = new StreamRecord(h.stores.usage, event, {
      prices: { input_tokens: 50, output_tokens: 150 },
      maxTokens: 1_000,
      ttlMs: 60_000,
      now: () => new Date(now),
      step: 10,
    });
    await record.open({ input_tokens: 7, output_tokens: 1 });
    expect(record.allowance).toBe(10);
    now += 20_000;
    await record.cover(10); // within the allowance and the first half of its time: no write
    now += 20_000;
    await record.cover(10); // 40 s since the last write: the expiry moves on
    expect((await h.stores.usage.get(tenantId, id))!.expiresAt).toBe(new Date(T0 + 100_000).toISOString());
    expect(await h.stores.usage.closeExpiredOpen(new Date(T0 + 70_000))).toBe(0);
    await record.cover(25); // a jump past one step: whole steps, enough for it
    expect(record.allowance).toBe(30);
    expect(await h.stores.usage.get(tenantId, id)).toMatchObject({
      status: 'open',
      units: { input_tokens: 7, output_tokens: 30 },
      costNanoUsd: 7 * 50 + 30 * 150,
    });
    // The writer gone: past its expiry the sweeper closes it at its allowance, once.
    expect(await h.stores.usage.closeExpiredOpen(new Date(T0 + 100_001))).toBe(1);
    expect(await h.stores.usage.get(tenantId, id)).toMatchObject({
      status: 'succeeded',
      units: { input_tokens: 7, output_tokens: 30 },
      at: new Date(T0 + 100_001).toISOString(),
    });
    expect(await h.stores.usage.closeExpiredOpen(new Date(T0 + 200_000))).toBe(0);
    // A writer that comes back finds it closed: it may send nothing more, and cannot close it again.
    await expect(record.cover(31)).rejects.toBeInstanceOf(StreamRecordFailure);
    expect(await record.close({ input_tokens: 7, output_tokens: 12 }, 5)).toBe(false);
    expect(await record.void()).toBe(false);
  });

  it('no allowance beyond max_tokens; a void takes the record out of the ledger and the index', async () => {
    const tenantId = newId('ten');
    const event = base(tenantId);
    const record = new StreamRecord(h.stores.usage, event, {
      prices: { input_tokens: 50, output_tokens: 150 },
      maxTokens: 16,
      ttlMs: 60_000,
      now: () => new Date(T0),
    });
    await record.open({ input_tokens: 3, output_tokens: 1 });
    expect(record.allowance).toBe(16);
    expect(await record.void()).toBe(true);
    expect(await h.stores.usage.get(tenantId, event.requestId)).toMatchObject({ status: 'void' });
    expect(await h.stores.usage.closeExpiredOpen(new Date(T0 + 3_600_000))).toBe(0);
    expect(await h.stores.usage.listEvents(tenantId)).toEqual([]);
  });
});
