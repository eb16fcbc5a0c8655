import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SageMakerModelClient } from '#shared/models/sagemaker-client';
import { ensureTinyChatModel } from '../../../local/models/build-test-model';
import { modelsDir } from '../../../local/models/paths';
import { TINY_CHAT_ID } from '../../../local/models/tiny-chat';
import { payloadPartFrame } from '../../../local/runtime/event-stream';
import { createChatModel } from '../../../local/runtime/models/chat';
import { endpoint } from '../../../local/runtime/registry';
import { createRuntimeServer } from '../../../local/runtime/server';
import { createHarness, type Harness } from '../../support/harness';
import { parseSse } from '../../support/sse';

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

const ask = (h: Harness, key: string, content: string, extra: Record<string, unknown> = {}) =>
  h.call('/v1/chat/completions', {
    key,
    json: { model: 'chat', messages: [{ role: 'user', content }], max_tokens: 64, temperature: 0, ...extra },
  });

describe('a chat model worker that crashes: 502, not billed, restarted', () => {
  // The real runtime server and chat model in process, with a worker that can be told to die.
  const chat = createChatModel({
    modelId: TINY_CHAT_ID,
    modelsRoot: modelsDir(),
    prepare: async () => {
      await ensureTinyChatModel();
    },
    workerEntry: new URL('../../support/crashing-chat-worker.ts', import.meta.url),
  });
  const runtime = createRuntimeServer(new Map([['tollgate-test-chat', endpoint({ 'tiny-1': chat })]]));
  let h: Harness;
  beforeAll(async () => {
    await chat.load();
    const url = await listen(runtime);
    h = await createHarness({ models: new SageMakerModelClient({ region: 'us-east-1', endpoint: url }) });
  });
  afterAll(async () => {
    await chat.close?.();
    runtime.closeAllConnections();
    runtime.close();
  });

  it('a crash during a call is a 502 and the next call is served by a restarted worker', async () => {
    const t = await h.newTenant();
    const restartsBefore = chat.restarts();
    const res = await ask(h, t.key, 'CRASH AT START please');
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('model_error');
    expect(body.error.message).toContain('not billed');
    expect(chat.restarts()).toBe(restartsBefore + 1);

    const after = await ask(h, t.key, 'hello again', { max_tokens: 5 });
    expect(after.status).toBe(200);
    const events = await h.stores.usage.listEvents(t.tenantId);
    expect(events.map((e) => e.units.output_tokens)).toEqual([5]);
  });

  it('a crash before the first token of a stream is a plain 502 JSON error', async () => {
    const t = await h.newTenant();
    const res = await ask(h, t.key, 'CRASH AT START', { stream: true });
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
  });

  it('a crash mid-stream ends it with an error event, no [DONE], and bills nothing', async () => {
    const t = await h.newTenant();
    const res = await ask(h, t.key, 'CRASH AFTER 3', {
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    const events = parseSse(await res.text());
    const content = events.filter((e) => e.event === undefined && e.data.includes('"content":"')).length;
    expect(content).toBeGreaterThanOrEqual(3);
    const last = events.at(-1)!;
    expect(last.event).toBe('error');
    expect(JSON.parse(last.data)).toMatchObject({ error: { code: 'model_error', type: 'api_error' } });
    expect(events.some((e) => e.data === '[DONE]')).toBe(false);
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
    expect((await ask(h, t.key, 'fine now', { max_tokens: 2 })).status).toBe(200);
  });
});

describe('a chat model that stalls: 504, not billed', () => {
  // Fault injection at the machine's edge: a runtime that never answers, and one that stalls mid-stream.
  const hang = createServer(() => {});
  const stall = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
    const line = JSON.stringify({ delta: 'Hel', usage: { input_tokens: 7, output_tokens: 1 } });
    res.write(payloadPartFrame(new TextEncoder().encode(`${line}\n`)));
  });
  const urls: Record<string, string> = {};
  beforeAll(async () => {
    urls.hang = await listen(hang);
    urls.stall = await listen(stall);
  });
  afterAll(() => {
    for (const s of [hang, stall]) {
      s.closeAllConnections();
      s.close();
    }
  });

  it.each([false, true])('no answer at all (stream %s): 504 JSON within the timeout', async (stream) => {
    const h = await createHarness({
      env: { MODEL_TIMEOUT_MS: '300' },
      models: new SageMakerModelClient({ region: 'us-east-1', endpoint: urls.hang! }),
    });
    const t = await h.newTenant();
    const res = await ask(h, t.key, 'hi', { stream });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('model_timeout');
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
  });

  it('a stream that stops coming: the tokens so far, then an error event; not billed', async () => {
    const h = await createHarness({
      env: { MODEL_TIMEOUT_MS: '300' },
      models: new SageMakerModelClient({ region: 'us-east-1', endpoint: urls.stall! }),
    });
    const t = await h.newTenant();
    const res = await ask(h, t.key, 'hi', { stream: true });
    expect(res.status).toBe(200);
    const events = parseSse(await res.text());
    expect(events.some((e) => e.data.includes('"content":"Hel"'))).toBe(true);
    expect(events.at(-1)!.event).toBe('error');
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ error: { code: 'model_timeout' } });
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
  });
});
