import { toFile } from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseInputFile } from '#shared/batch/jsonl';
import type { WorkMessage } from '#shared/batch/types';
import { chunkMessages, type DynamoWorkQueue } from '#shared/batch/work-queue';
import { createHarness, type Harness, type TestTenant } from '../../support/harness';
import { sdk } from '../../support/openai-sdk';

// Blank lines, CRLF endings and characters of 2, 3 and 4 bytes: a byte range must not be a
// character count.
const rows = Array.from({ length: 8 }, (_, i) => ({
  custom_id: `line-${i}`,
  method: 'POST',
  url: '/v1/text/sentiment',
  body: { model: 'sentiment', input: `Café ${i} ☕ was lovely 😀 ${'ü'.repeat(i)}` },
}));
const file = `${rows.map((r, i) => JSON.stringify(r) + (i % 3 === 1 ? '\r\n\n' : '\n')).join('')}\n`;

describe("a batch worker reads its chunk's bytes, not the whole input file", () => {
  it('splits a file into byte ranges that parse back to exactly each chunk’s lines', () => {
    const bytes = Buffer.from(file);
    const lines = parseInputFile(bytes, { maxLines: 100 });
    expect(lines.map((l) => l.customId)).toEqual(rows.map((r) => r.custom_id));
    const batch = { tenantId: 't', id: 'b', chunkLines: 3, chunks: 3 };
    const messages = chunkMessages(batch, lines) as Extract<WorkMessage, { kind: 'chunk' }>[];
    expect(messages.every((m) => m.bytes !== undefined)).toBe(true);
    for (const m of messages) {
      const part = parseInputFile(bytes.subarray(m.bytes!.start, m.bytes!.end), {
        maxLines: 100,
        firstIndex: m.chunk * 3,
      });
      const expected = lines.slice(m.chunk * 3, m.chunk * 3 + 3);
      expect(part.map((l) => [l.index, l.customId, l.body])).toEqual(
        expected.map((l) => [l.index, l.customId, l.body]),
      );
    }
    // Without the lines (a chunk queued again by the sweep): no range, the worker reads the file.
    expect(chunkMessages(batch).some((m) => 'bytes' in m)).toBe(false);
  });

  let h: Harness;
  let tenant: TestTenant;
  beforeAll(async () => {
    h = await createHarness({ env: { BATCH_CHUNK_LINES: '3' } });
    tenant = await h.newTenant({ plan: 'payg' });
  });

  it('answers every line once, reading only ranges of the input file', async () => {
    const client = sdk(h, tenant.key);
    const input = await client.files.create({
      file: await toFile(Buffer.from(file), 'in.jsonl'),
      purpose: 'batch',
    });
    const storage = h.deps.batch.storage;
    const whole: string[] = [];
    const ranged: [number, number][] = [];
    const get = storage.get.bind(storage);
    const getRange = storage.getRange.bind(storage);
    storage.get = async (key) => {
      whole.push(key);
      return get(key);
    };
    storage.getRange = async (key, start, end) => {
      ranged.push([start, end]);
      return getRange(key, start, end);
    };
    try {
      const batch = await client.batches.create({
        input_file_id: input.id,
        endpoint: '/v1/text/sentiment' as never,
        completion_window: '24h',
      });
      // Creation reads the file once to validate it; the worker then reads ranges only.
      whole.length = 0;
      const queued = await (h.deps.batch.queue as DynamoWorkQueue).receive(10);
      expect(queued.map((m) => (m.body as { bytes?: unknown }).bytes)).not.toContain(undefined);
      for (const m of queued) await h.deps.batch.queue.send([m.body]);
      for (const m of queued) await (h.deps.batch.queue as DynamoWorkQueue).delete(m);
      await h.runBatches();
      const done = await client.batches.retrieve(batch.id);
      expect(done.status).toBe('completed');
      expect(done.request_counts).toMatchObject({ total: 8, completed: 8, failed: 0 });
      expect(ranged).toHaveLength(3);
      expect(whole.filter((k) => k.includes(input.id))).toEqual([]);
      const out = (await (await client.files.content(done.output_file_id!)).text()).trim().split('\n');
      expect(out.map((l) => (JSON.parse(l) as { custom_id: string }).custom_id).sort()).toEqual(
        rows.map((r) => r.custom_id).sort(),
      );
    } finally {
      storage.get = get;
      storage.getRange = getRange;
    }
  });
});
