import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lineRequestId } from '#shared/batch/ids';
import { loadConfig } from '#shared/config';
import { createLogger } from '#shared/logger';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { dataUrl, textPng } from '../support/images';

// The stack's model runtime inherits this: the chat test model and the default OCR model.
process.env.RUNTIME_MODELS = 'sentiment,chat,ocr@ppocr-v4';

const ROOT = resolve(import.meta.dirname, '../..');
const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type OutputLine = {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: Record<string, unknown> } | null;
  error: { code: string; message: string } | null;
};

async function waitFor(
  client: OpenAI,
  id: string,
  minutes: number,
  until = (b: OpenAI.Batch) => b.status === 'completed',
) {
  const deadline = Date.now() + minutes * 60_000;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (until(batch) || ['failed', 'expired', 'cancelled'].includes(batch.status)) return batch;
    if (Date.now() > deadline)
      throw new Error(`batch ${id} still ${batch.status}: ${JSON.stringify(batch.request_counts)}`);
    await sleep(500);
  }
}

async function lines(client: OpenAI, fileId: string): Promise<OutputLine[]> {
  const text = await (await client.files.content(fileId)).text();
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as OutputLine);
}

/** Every usage record of the batch's lines, as the usage table has them. */
async function records(stack: LocalStack, tenantId: string, batchId: string, n: number) {
  const { createStores } = await import('#api/wiring/stores');
  const stores = createStores(stack.config);
  const got = [];
  for (let i = 0; i < n; i++) got.push(await stores.usage.get(tenantId, lineRequestId(batchId, i)));
  stores.dynamo.client.destroy();
  return got;
}

describe('batches through the official SDK against the local stack', () => {
  let stack: LocalStack;
  let client: OpenAI;
  beforeAll(async () => {
    stack = await startLocalStack(
      loadConfig({ PORT: '0', TOLLGATE_IN_MEMORY: 'true', LOG_LEVEL: 'silent', BATCH_POLL_MS: '100' }),
      createLogger('silent'),
    );
    client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: stack.demo.secret!, maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('runs a 1,000-line chat batch: every line once in the output, billed once at the batch price', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      custom_id: `chat-${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: {
        model: 'chat@tiny-1',
        messages: [{ role: 'user', content: `Item ${i}` }],
        max_tokens: 3,
        temperature: 0,
      },
    }));
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl(rows)), 'chat.jsonl'),
      purpose: 'batch',
    });
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const done = await waitFor(client, created.id, 8);
    expect(done).toMatchObject({
      status: 'completed',
      request_counts: { total: 1000, completed: 1000, failed: 0 },
    });
    const out = await lines(client, done.output_file_id!);
    expect(out).toHaveLength(1000);
    expect(new Set(out.map((o) => o.custom_id)).size).toBe(1000);
    const billed = await records(stack, stack.demo.tenantId, created.id, 1000);
    for (const o of out) {
      const i = Number(o.custom_id.slice(5));
      const usage = o.response!.body.usage as { total_tokens: number; cost_usd: string };
      expect(o.response!.status_code).toBe(200);
      expect(o.response!.request_id).toBe(lineRequestId(created.id, i));
      expect(billed[i]).toMatchObject({ channel: 'batch', status: 'succeeded' });
      expect(Math.round(Number(usage.cost_usd) * 1e9)).toBe(billed[i]!.costNanoUsd);
      // chat@tiny-1 costs $0.05 / $0.15 per 1M tokens online: 25 and 75 nano-USD a token in batch.
      const units = billed[i]!.units;
      expect(billed[i]!.costNanoUsd).toBe((units.input_tokens ?? 0) * 25 + (units.output_tokens ?? 0) * 75);
    }
  }, 600_000);

  it('runs a 200-image OCR batch that reads each image', async () => {
    // Digits other than 0, which the model may read as the letter O.
    const words = Array.from({ length: 200 }, (_, i) => `BATCH ${String(i + 11).replaceAll('0', '7')}`);
    const images = await Promise.all(words.map((w) => textPng(w, { width: 640, height: 160, size: 64 })));
    const rows = images.map((png, i) => ({
      custom_id: `ocr-${i}`,
      method: 'POST',
      url: '/v1/images/ocr',
      body: { model: 'ocr@ppocr-v4', image: dataUrl('image/png', png) },
    }));
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl(rows)), 'ocr.jsonl'),
      purpose: 'batch',
    });
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/images/ocr' as never,
      completion_window: '24h',
    });
    const done = await waitFor(client, created.id, 8);
    expect(done).toMatchObject({
      status: 'completed',
      request_counts: { total: 200, completed: 200, failed: 0 },
    });
    const out = await lines(client, done.output_file_id!);
    expect(out).toHaveLength(200);
    for (const o of out) {
      const i = Number(o.custom_id.slice(4));
      // Its own image's words (the model may drop the space between them).
      expect(String(o.response!.body.text).replace(/\s/g, ''), o.custom_id).toBe(
        words[i]!.replace(/\s/g, ''),
      );
    }
  }, 600_000);
});

describe('a batch worker killed mid-batch', () => {
  let stack: LocalStack;
  let client: OpenAI;
  const workers: ChildProcess[] = [];
  const startWorker = () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/batch-worker.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DYNAMODB_ENDPOINT: stack.config.DYNAMODB_ENDPOINT,
        SAGEMAKER_ENDPOINT: stack.config.SAGEMAKER_ENDPOINT,
        S3_ENDPOINT: stack.config.S3_ENDPOINT,
        STAGE: stack.config.STAGE,
        BATCH_BUCKET: stack.config.BATCH_BUCKET,
        BATCH_CHUNK_LINES: stack.config.BATCH_CHUNK_LINES.toString(),
        BATCH_VISIBILITY_MS: '3000',
        BATCH_POLL_MS: '100',
        LOG_LEVEL: 'silent',
      },
      stdio: 'ignore',
    });
    workers.push(child);
    return child;
  };
  beforeAll(async () => {
    stack = await startLocalStack(
      loadConfig({ PORT: '0', TOLLGATE_IN_MEMORY: 'true', LOG_LEVEL: 'silent', BATCH_CHUNK_LINES: '40' }),
      createLogger('silent'),
      { batchWorker: false },
    );
    client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: stack.demo.secret!, maxRetries: 0 });
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await stack?.stop();
  });

  it('answers and bills every line once after a restart', async () => {
    const n = 120;
    const rows = Array.from({ length: n }, (_, i) => ({
      custom_id: `c-${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: {
        model: 'chat@tiny-1',
        messages: [{ role: 'user', content: `Line ${i}` }],
        max_tokens: 8,
        temperature: 0,
      },
    }));
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl(rows)), 'crash.jsonl'),
      purpose: 'batch',
    });
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const first = startWorker();
    // Killed with lines done and lines to do: mid-chunk, with no chance to clean up.
    await waitFor(client, created.id, 3, (b) => b.request_counts!.completed >= 10);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const midway = await client.batches.retrieve(created.id);
    expect(midway.status).toBe('in_progress');
    expect(midway.request_counts!.completed).toBeLessThan(n);
    startWorker();
    const done = await waitFor(client, created.id, 5);
    expect(done).toMatchObject({
      status: 'completed',
      request_counts: { total: n, completed: n, failed: 0 },
    });
    const out = await lines(client, done.output_file_id!);
    expect(out.map((o) => o.custom_id).sort()).toEqual(rows.map((r) => r.custom_id).sort());
    const billed = await records(stack, stack.demo.tenantId, created.id, n);
    for (const [i, r] of billed.entries()) {
      expect(r, `line ${i}`).toMatchObject({ channel: 'batch', status: 'succeeded' });
      const o = out.find((x) => x.custom_id === `c-${i}`)!;
      expect(Math.round(Number((o.response!.body.usage as { cost_usd: string }).cost_usd) * 1e9)).toBe(
        r!.costNanoUsd,
      );
    }
  }, 600_000);
});
