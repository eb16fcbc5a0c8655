import { beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type TestTenant } from '../../support/harness';
import { parseSse, sseChunks } from '../../support/sse';

interface Completion {
  id: string;
  object: string;
  model: string;
  choices: { index: number; message: { role: string; content: string }; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number; cost_usd: string };
}

type Chunk = {
  object: string;
  model: string;
  choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[];
  usage?: Completion['usage'];
};

const hello = [{ role: 'user', content: 'Hello, who are you?' }];
// chat@tiny-1 prices: 50 nano-USD per input token, 150 per output token.
const costOf = (u: { prompt_tokens: number; completion_tokens: number }) =>
  `0.${String(u.prompt_tokens * 50 + u.completion_tokens * 150).padStart(9, '0')}`;

describe('POST /v1/chat/completions on the tiny test model', () => {
  let h: Harness;
  let t: TestTenant;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant();
  });
  const chat = (json: Record<string, unknown>, key = t.key) =>
    h.call('/v1/chat/completions', { key, json: { model: 'chat', messages: hello, ...json } });

  it('answers an OpenAI chat.completion, names the version, and meters the tokenizer counts', async () => {
    const res = await chat({ max_tokens: 16, temperature: 0 });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-model-version')).toBe('chat@tiny-1');
    const body = (await res.json()) as Completion;
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'chat@tiny-1',
      id: res.headers.get('x-request-id'),
    });
    expect(body.choices).toHaveLength(1);
    expect(body.choices[0]).toMatchObject({
      index: 0,
      finish_reason: 'length',
      message: { role: 'assistant' },
    });
    expect(body.choices[0]!.message.content.length).toBeGreaterThan(0);
    // Byte-level tokenizer: the content's bytes plus ChatML's `<|im_start|>user\n`, `<|im_end|>\n`
    // and `<|im_start|>assistant\n` (each marker one token): 6 + 2 + 11 = 19.
    expect(body.usage.prompt_tokens).toBe(Buffer.byteLength(hello[0]!.content) + 19);
    expect(body.usage.completion_tokens).toBe(16);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + 16);
    expect(body.usage.cost_usd).toBe(costOf(body.usage));

    const events = (await h.stores.usage.listEvents(t.tenantId)).filter((e) => e.requestId === body.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      model: 'chat',
      version: 'tiny-1',
      units: { input_tokens: body.usage.prompt_tokens, output_tokens: 16 },
      costNanoUsd: body.usage.prompt_tokens * 50 + 16 * 150,
    });
  });

  it('greedy decoding is deterministic; a stop sequence cuts the text and finishes with stop', async () => {
    const first = (await (await chat({ max_tokens: 40, temperature: 0 })).json()) as Completion;
    const again = (await (await chat({ max_tokens: 40, temperature: 0 })).json()) as Completion;
    const text = first.choices[0]!.message.content;
    expect(again.choices[0]!.message.content).toBe(text);
    const stop = text.slice(10, 12);
    const cut = (await (await chat({ max_tokens: 40, temperature: 0, stop })).json()) as Completion;
    expect(cut.choices[0]!.finish_reason).toBe('stop');
    expect(cut.choices[0]!.message.content).toBe(text.slice(0, text.indexOf(stop)));
    expect(cut.usage.completion_tokens).toBeLessThan(40);
  });

  it('accepts text parts, developer messages, and model names, versions and aliases', async () => {
    for (const model of ['chat', 'chat@tiny-1', 'chat@latest']) {
      const res = await h.call('/v1/chat/completions', {
        key: t.key,
        json: {
          model,
          messages: [
            { role: 'developer', content: 'Be brief.' },
            {
              role: 'user',
              content: [
                { type: 'text', text: 'Hi' },
                { type: 'text', text: 'there' },
              ],
            },
          ],
          max_tokens: 3,
          temperature: 0.7,
          top_p: 0.9,
        },
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as Completion).model).toBe('chat@tiny-1');
    }
  });

  it('streams chunks: the role first, content deltas, finish_reason, usage with cost, then [DONE]', async () => {
    const plain = (await (await chat({ max_tokens: 12, temperature: 0 })).json()) as Completion;
    const res = await chat({
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
    for (const chunk of chunks)
      expect(chunk).toMatchObject({ object: 'chat.completion.chunk', model: 'chat@tiny-1' });
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(content).toBe(plain.choices[0]!.message.content);
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finish.map((c) => c.choices[0]!.finish_reason)).toEqual(['length']);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ ...plain.usage, cost_usd: costOf(plain.usage) });

    const id = res.headers.get('x-request-id');
    const events2 = (await h.stores.usage.listEvents(t.tenantId)).filter((e) => e.requestId === id);
    expect(events2).toHaveLength(1);
    expect(events2[0]!.units).toEqual({ input_tokens: last.usage!.prompt_tokens, output_tokens: 12 });
  });

  it('without include_usage there is no usage chunk, and the request is still metered', async () => {
    const res = await chat({ max_tokens: 4, temperature: 0, stream: true });
    const events = parseSse(await res.text());
    expect(events.at(-1)!.data).toBe('[DONE]');
    expect((sseChunks(events) as Chunk[]).some((c) => c.usage)).toBe(false);
    const id = res.headers.get('x-request-id');
    const metered = (await h.stores.usage.listEvents(t.tenantId)).filter((e) => e.requestId === id);
    expect(metered.map((e) => e.units.output_tokens)).toEqual([4]);
  });

  it.each([
    ['empty messages', { messages: [] }, 'messages'],
    ['a tool role', { messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].role'],
    [
      'an image part',
      { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] },
      'messages[0].content',
    ],
    ['null content', { messages: [{ role: 'assistant', content: null }] }, 'messages[0].content'],
    ['max_tokens over the version limit', { max_tokens: 513 }, 'max_tokens'],
    ['max_completion_tokens over it', { max_completion_tokens: 100_000 }, 'max_completion_tokens'],
    ['max_tokens 0', { max_tokens: 0 }, 'max_tokens'],
    ['temperature 2.5', { temperature: 2.5 }, 'temperature'],
    ['top_p 0', { top_p: 0 }, 'top_p'],
    ['five stop sequences', { stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    ['a stop string over 256 characters', { stop: 'x'.repeat(257) }, 'stop'],
    ['a stop sequence over 256 characters in an array', { stop: ['x'.repeat(257)] }, 'stop[0]'],
    ['an empty stop string', { stop: '' }, 'stop'],
    ['n 2', { n: 2 }, 'n'],
    ['stream_options without stream', { stream_options: { include_usage: true } }, 'stream_options'],
    ['tools', { tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools'],
    ['an unknown model', { model: 'nope' }, 'model'],
    ['an unknown version', { model: 'chat@v9' }, 'model'],
    ['a model of another task', { model: 'sentiment' }, 'model'],
    [
      'a prompt over the version limit',
      { messages: [{ role: 'user', content: 'x'.repeat(2_000) }] },
      'messages',
    ],
    [
      'a streamed prompt over it',
      { stream: true, messages: [{ role: 'user', content: 'x'.repeat(2_000) }] },
      'messages',
    ],
  ])('%s: 400 naming the param, nothing billed', async (_name, json, param) => {
    const other = await h.newTenant();
    const res = await chat({ max_tokens: 4, ...json }, other.key);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { param: string; type: string; message: string } };
    expect(body.error.param).toBe(param);
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message.length).toBeGreaterThan(10);
    expect(await h.stores.usage.listEvents(other.tenantId)).toEqual([]);
  });

  it('both routes are in the OpenAPI document', async () => {
    const doc = (await (await h.call('/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.paths['/v1/chat/completions'] ?? {})).toEqual(['post']);
    expect(Object.keys(doc.paths['/v1/models'] ?? {})).toEqual(['get']);
  });

  it('GET /v1/models lists chat, its versions and the other models', async () => {
    const res = await h.call('/v1/models', { key: t.key });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; data: { id: string; object: string }[] };
    expect(body.object).toBe('list');
    const ids = body.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['chat', 'chat@tiny-1', 'sentiment', 'sentiment@v1']));
    expect(body.data.every((m) => m.object === 'model')).toBe(true);
    expect((await h.call('/v1/models')).status).toBe(401);
  });
});

describe('a stream the client abandons', () => {
  let h: Harness;
  let t: TestTenant;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.newTenant();
  });

  it('bills the tokens generated until the client left, exactly once', async () => {
    const res = await h.call('/v1/chat/completions', {
      key: t.key,
      json: { model: 'chat', messages: hello, max_tokens: 512, temperature: 0, stream: true },
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let seen = '';
    while ((seen.match(/"content":"[^"]/g) ?? []).length < 3) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended before it was abandoned');
      seen += new TextDecoder().decode(value);
    }
    await reader.cancel();

    const deadline = Date.now() + 10_000;
    let events = await h.stores.usage.listEvents(t.tenantId);
    while (events.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      events = await h.stores.usage.listEvents(t.tenantId);
    }
    expect(events).toHaveLength(1);
    const units = events[0]!.units;
    expect(units.input_tokens).toBeGreaterThan(0);
    expect(units.output_tokens).toBeGreaterThanOrEqual(3);
    expect(units.output_tokens).toBeLessThan(512);
    expect(events[0]!.costNanoUsd).toBe(units.input_tokens! * 50 + units.output_tokens! * 150);
    expect(h.logs.join('')).toContain('stream abandoned by the client');
    // Nothing else is written for it later.
    await new Promise((r) => setTimeout(r, 300));
    expect(await h.stores.usage.listEvents(t.tenantId)).toHaveLength(1);
  });
});
