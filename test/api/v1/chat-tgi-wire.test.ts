import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCatalog } from '#shared/catalog/seed';
import { SageMakerModelClient } from '#shared/models/sagemaker-client';
import { type ChatRequestBody, promptTokenBound } from '../../../functions/api/routes/v1/chat/schema';
import { ensureTinyChatModel } from '../../../local/models/build-test-model';
import { modelsDir } from '../../../local/models/paths';
import { TINY_CHAT_ID } from '../../../local/models/tiny-chat';
import { type RuntimeProcess, startRuntimeProcess } from '../../../local/runtime/launcher';
import { ModelStatusError } from '../../../local/runtime/model-handler';
import { createChatModel } from '../../../local/runtime/models/chat';
import { tgiMessagesHandler } from '../../../local/runtime/models/tgi-messages';
import { endpoint } from '../../../local/runtime/registry';
import { createRuntimeServer } from '../../../local/runtime/server';
import { createHarness, type Harness } from '../../support/harness';
import { parseSse, sseChunks } from '../../support/sse';

/**
 * The chat adapter for TGI's Messages API end to end: the gateway, the real AWS SDK client, the
 * local runtime serving chat@tiny-1 in TGI's wire format (`LLM_WIRE_VERSIONS`, read by both), and
 * the real tiny model. chat@tiny-1 limits: 1,536 prompt tokens, 512 output tokens; prices 50 and
 * 150 nano-USD per input and output token.
 */

const TINY = seedCatalog('test').versions.find((v) => v.model === 'chat' && v.version === 'tiny-1')!;
const WIRE = { LLM_WIRE_VERSIONS: 'chat@tiny-1' };
const MAX_INPUT = 1_536;
const hello = [{ role: 'user' as const, content: 'Hello, who are you?' }];
const tooLong = [{ role: 'user' as const, content: 'x'.repeat(2_000) }];
const decoder = new TextDecoder();
const costOf = (u: { prompt_tokens: number; completion_tokens: number }) =>
  `0.${String(u.prompt_tokens * 50 + u.completion_tokens * 150).padStart(9, '0')}`;

type TgiUsage = { prompt_tokens: number; completion_tokens: number; total_tokens: number };
type Completion = {
  id: string;
  object: string;
  model: string;
  choices: { message: { role: string; content: string }; finish_reason: string }[];
  usage: TgiUsage & { cost_usd?: string };
};
type Chunk = {
  object: string;
  model: string;
  choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[];
  usage?: (TgiUsage & { cost_usd?: string }) | null;
};

/** The container, called as SageMaker would call it, without the gateway: what it reports. */
function container(url: string) {
  const client = new SageMakerRuntimeClient({
    region: 'us-east-1',
    endpoint: url,
    maxAttempts: 1,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const target = {
    EndpointName: TINY.endpointName,
    TargetVariant: TINY.variant,
    ContentType: 'application/json',
  };
  return {
    client,
    async invoke(body: Record<string, unknown>): Promise<Completion> {
      const out = await client.send(new InvokeEndpointCommand({ ...target, Body: JSON.stringify(body) }));
      return JSON.parse(decoder.decode(out.Body)) as Completion;
    },
    /** The PayloadParts' bytes, joined: TGI's server-sent events. */
    async stream(body: Record<string, unknown>): Promise<string> {
      const out = await client.send(
        new InvokeEndpointWithResponseStreamCommand({ ...target, Body: JSON.stringify(body) }),
      );
      let text = '';
      for await (const event of out.Body!) text += decoder.decode(event.PayloadPart?.Bytes, { stream: true });
      return text;
    },
  };
}

/** TGI's request for what the gateway asks below (greedy, so the container's answer is reproducible). */
const tgiBody = (maxTokens: number, extra: Record<string, unknown> = {}) => ({
  model: 'tgi',
  messages: hello,
  max_tokens: maxTokens,
  temperature: 0,
  stream: false,
  ...extra,
});

describe('chat over the TGI Messages wire (chat@tiny-1 with LLM_WIRE_VERSIONS)', () => {
  let runtime: RuntimeProcess;
  let h: Harness;
  let tgi: ReturnType<typeof container>;
  beforeAll(async () => {
    runtime = await startRuntimeProcess({
      env: { TOLLGATE_STAGE: 'test', RUNTIME_MODELS: 'chat@tiny-1', ...WIRE },
      waitForModels: true,
    });
    h = await createHarness({ env: { SAGEMAKER_ENDPOINT: runtime.url, ...WIRE } });
    tgi = container(runtime.url);
  });
  afterAll(async () => {
    tgi?.client.destroy();
    await runtime?.stop();
  });
  const chat = (key: string, json: Record<string, unknown>) =>
    h.call('/v1/chat/completions', { key, json: { model: 'chat@tiny-1', messages: hello, ...json } });

  it("the runtime answers in TGI's format: a chat.completion, and one SSE chunk per token with the usage at the end", async () => {
    const answer = await tgi.invoke(tgiBody(6));
    expect(answer).toMatchObject({
      object: 'chat.completion',
      id: '',
      model: TINY_CHAT_ID,
      choices: [{ index: 0, message: { role: 'assistant' }, logprobs: null, finish_reason: 'length' }],
    });
    expect(answer.usage.completion_tokens).toBe(6);
    expect(answer.usage.total_tokens).toBe(answer.usage.prompt_tokens + 6);

    const text = await tgi.stream(tgiBody(6, { stream: true, stream_options: { include_usage: true } }));
    const events = parseSse(text);
    expect(events.at(-1)).toEqual({ event: undefined, data: '[DONE]' });
    const chunks = sseChunks(events) as Chunk[];
    expect(chunks).toHaveLength(6);
    for (const c of chunks.slice(0, -1)) {
      expect(c).toMatchObject({ object: 'chat.completion.chunk', usage: null });
      expect(c.choices[0]!.finish_reason).toBeNull();
    }
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('length');
    expect(chunks.at(-1)!.usage).toEqual(answer.usage);
    expect(chunks.map((c) => c.choices[0]!.delta.content).join('')).toBe(answer.choices[0]!.message.content);
  });

  it("the runtime refuses a prompt over the limit as TGI does: a 422 wrapped in SageMaker's ModelError, or an error event in the stream", async () => {
    const refused = await tgi.invoke({ ...tgiBody(4), messages: tooLong }).then(
      () => undefined,
      (err: {
        name: string;
        $metadata: { httpStatusCode: number };
        OriginalStatusCode: number;
        OriginalMessage: string;
      }) => err,
    );
    expect(refused?.name).toBe('ModelError');
    expect(refused?.$metadata.httpStatusCode).toBe(424);
    expect(refused?.OriginalStatusCode).toBe(422);
    expect(JSON.parse(refused!.OriginalMessage)).toMatchObject({
      error: expect.stringMatching(/^Input validation error: /),
      error_type: 'validation',
    });

    const events = parseSse(await tgi.stream({ ...tgiBody(4, { stream: true }), messages: tooLong }));
    expect(events.map((e) => e.data.slice(0, 40))).toEqual([
      '{"error":{"message":"Input validation er',
      '[DONE]',
    ]);
    expect(JSON.parse(events[0]!.data).error.http_status_code).toBe(422);
  });

  it('a plain call: the OpenAI answer, with the usage the container reported, recorded and reported exactly', async () => {
    const t = await h.newTenant();
    const reported = await tgi.invoke(tgiBody(16));
    const res = await chat(t.key, { max_tokens: 16, temperature: 0 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Completion;
    expect(body).toMatchObject({
      id: res.headers.get('x-request-id'),
      object: 'chat.completion',
      model: 'chat@tiny-1',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: reported.choices[0]!.message.content, refusal: null },
          finish_reason: 'length',
        },
      ],
      usage: { ...reported.usage, cost_usd: costOf(reported.usage) },
    });

    const events = await h.stores.usage.listEvents(t.tenantId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      requestId: body.id,
      status: 'succeeded',
      units: { input_tokens: reported.usage.prompt_tokens, output_tokens: reported.usage.completion_tokens },
      costNanoUsd: reported.usage.prompt_tokens * 50 + reported.usage.completion_tokens * 150,
    });
    const usage = (await (await h.call('/v1/usage', { key: t.key })).json()) as {
      totals: { requests: number; input_tokens: number; output_tokens: number; cost_usd: string };
    };
    expect(usage.totals).toEqual({
      requests: 1,
      input_tokens: reported.usage.prompt_tokens,
      output_tokens: reported.usage.completion_tokens,
      images: 0,
      cost_usd: costOf(reported.usage),
    });
  });

  it('a stream: OpenAI chunks, then the usage the container reported, recorded exactly once', async () => {
    const t = await h.newTenant();
    const reported = await tgi.invoke(tgiBody(12));
    const res = await chat(t.key, {
      max_tokens: 12,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseSse(await res.text());
    expect(events.at(-1)).toEqual({ event: undefined, data: '[DONE]' });
    expect(events.filter((e) => e.event === 'error')).toEqual([]);
    const chunks = sseChunks(events) as Chunk[];
    for (const c of chunks)
      expect(c).toMatchObject({ object: 'chat.completion.chunk', model: 'chat@tiny-1' });
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(
      reported.choices[0]!.message.content,
    );
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0]!.finish_reason)).toEqual(
      ['length'],
    );
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ ...reported.usage, cost_usd: costOf(reported.usage) });

    const recorded = await h.stores.usage.listEvents(t.tenantId);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      requestId: res.headers.get('x-request-id'),
      status: 'succeeded',
      units: { input_tokens: reported.usage.prompt_tokens, output_tokens: 12 },
    });
    const usage = (await (await h.call('/v1/usage', { key: t.key })).json()) as {
      totals: { requests: number; input_tokens: number; output_tokens: number; cost_usd: string };
    };
    expect(usage.totals).toMatchObject({
      requests: 1,
      input_tokens: reported.usage.prompt_tokens,
      output_tokens: 12,
      cost_usd: costOf(reported.usage),
    });
  });

  it.each([false, true])(
    "the container's validation refusal (stream %s) is a 400 in the OpenAI envelope, and nothing is billed",
    async (stream) => {
      const t = await h.newTenant();
      const res = await chat(t.key, { messages: tooLong, max_tokens: 4, stream });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await res.json()) as { error: Record<string, unknown> };
      expect(body.error).toMatchObject({
        type: 'invalid_request_error',
        code: 'invalid_request',
        param: 'messages',
        message: expect.stringMatching(/^Input validation error: .*You were not billed\.$/),
      });
      expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
      const usage = (await (await h.call('/v1/usage', { key: t.key })).json()) as {
        totals: { requests: number };
      };
      expect(usage.totals.requests).toBe(0);
    },
  );

  it('a stream the client abandons is billed once: the tokens generated until then, the prompt at its admitted bound', async () => {
    const t = await h.newTenant();
    const res = await chat(t.key, { max_tokens: 512, temperature: 0, stream: true });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let seen = '';
    while ((seen.match(/"content":"[^"]/g) ?? []).length < 3) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended before it was abandoned');
      seen += decoder.decode(value);
    }
    await reader.cancel();

    const deadline = Date.now() + 10_000;
    let events = await h.stores.usage.listEvents(t.tenantId);
    while ((events.length === 0 || events[0]!.status === 'open') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      events = await h.stores.usage.listEvents(t.tenantId);
    }
    expect(events).toHaveLength(1);
    expect(events[0]!.status).toBe('succeeded');
    const units = events[0]!.units;
    // TGI says the prompt's tokens only with its usage at the end: a stream cut before then is
    // billed the prompt at the bound admission reserved, never below the real count.
    const bound = promptTokenBound({ messages: hello } as ChatRequestBody, MAX_INPUT);
    expect(units.input_tokens).toBe(bound);
    expect(bound).toBeGreaterThanOrEqual((await tgi.invoke(tgiBody(1))).usage.prompt_tokens);
    expect(units.output_tokens).toBeGreaterThanOrEqual(3);
    expect(units.output_tokens).toBeLessThan(512);
    expect(events[0]!.costNanoUsd).toBe(units.input_tokens! * 50 + units.output_tokens! * 150);
    await new Promise((r) => setTimeout(r, 300));
    expect(await h.stores.usage.listEvents(t.tenantId)).toHaveLength(1);
  });
});

describe('a TGI-wire chat model that fails: 502 or an error event, not billed', () => {
  // The real runtime server and chat model in process, in TGI's format, with a worker that can be
  // told to die (test/support/crashing-chat-worker.ts).
  const chat = createChatModel({
    modelId: TINY_CHAT_ID,
    modelsRoot: modelsDir(),
    prepare: async () => {
      await ensureTinyChatModel();
    },
    workerEntry: new URL('../../support/crashing-chat-worker.ts', import.meta.url),
  });
  const server: Server = createRuntimeServer(
    new Map([
      [
        TINY.endpointName,
        endpoint({
          [TINY.variant]: tgiMessagesHandler(chat, { modelId: TINY_CHAT_ID, maxInputTokens: MAX_INPUT }),
        }),
      ],
    ]),
  );
  let h: Harness;
  beforeAll(async () => {
    await chat.load();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    h = await createHarness({
      env: WIRE,
      models: new SageMakerModelClient({ region: 'us-east-1', endpoint: url }),
    });
  });
  afterAll(async () => {
    await chat.close?.();
    server.closeAllConnections();
    server.close();
  });
  const ask = (key: string, content: string, extra: Record<string, unknown> = {}) =>
    h.call('/v1/chat/completions', {
      key,
      json: {
        model: 'chat@tiny-1',
        messages: [{ role: 'user', content }],
        max_tokens: 64,
        temperature: 0,
        ...extra,
      },
    });

  it('a crash before any token: a plain 502, not billed', async () => {
    const t = await h.newTenant();
    for (const stream of [false, true]) {
      const res = await ask(t.key, 'CRASH AT START', { stream });
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('model_error');
    }
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
  });

  it("a crash mid-stream arrives as TGI's error event: the tokens so far, then an error event, no [DONE]; not billed", async () => {
    const t = await h.newTenant();
    const res = await ask(t.key, 'CRASH AFTER 3', { stream: true, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    const events = parseSse(await res.text());
    expect(
      events.filter((e) => e.event === undefined && e.data.includes('"content":"')).length,
    ).toBeGreaterThanOrEqual(3);
    const last = events.at(-1)!;
    expect(last.event).toBe('error');
    expect(JSON.parse(last.data)).toMatchObject({ error: { code: 'model_error', type: 'api_error' } });
    expect(events.some((e) => e.data === '[DONE]')).toBe(false);
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
    expect((await ask(t.key, 'fine now', { max_tokens: 2 })).status).toBe(200);
    expect((await h.stores.usage.listEvents(t.tenantId)).map((e) => e.units.output_tokens)).toEqual([2]);
  });
});

describe("TGI's overloaded answer: 503 model_busy, retried after a second, not billed", () => {
  // Fault injection at the machine's edge: a container that answers what TGI answers when its
  // queue is full (429 `{"error": "Model is overloaded", "error_type": "overloaded"}`, server.rs),
  // behind the real runtime server, which wraps it as SageMaker does (424 ModelError, 429 original).
  const overloaded = () =>
    new ModelStatusError(429, JSON.stringify({ error: 'Model is overloaded', error_type: 'overloaded' }));
  const server: Server = createRuntimeServer(
    new Map([
      [
        TINY.endpointName,
        endpoint({
          [TINY.variant]: {
            name: 'overloaded-tgi',
            load: async () => {},
            invoke: async () => {
              throw overloaded();
            },
            // biome-ignore lint/correctness/useYield: it refuses before its first part, as TGI's 429 does
            invokeStream: async function* () {
              throw overloaded();
            },
          },
        }),
      ],
    ]),
  );
  let h: Harness;
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    h = await createHarness({
      env: WIRE,
      models: new SageMakerModelClient({ region: 'us-east-1', endpoint: url }),
    });
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it.each([false, true])('stream %s', async (stream) => {
    const t = await h.newTenant();
    const res = await h.call('/v1/chat/completions', {
      key: t.key,
      json: { model: 'chat@tiny-1', messages: hello, max_tokens: 4, stream },
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('model_busy');
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
  });
});
