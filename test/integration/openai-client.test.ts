import OpenAI, { type APIError, BadRequestError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';

type UsageWithCost = OpenAI.CompletionUsage & { cost_usd?: string };

// The stack's model runtime inherits this: chat, and the offline embeddings model.
process.env.RUNTIME_MODELS = 'sentiment,chat,embeddings';

/** The official OpenAI SDK, unchanged but for base URL and key, against the whole local stack. */
describe('the official openai client against the local stack', () => {
  let stack: LocalStack;
  let client: OpenAI;
  let apiKey: string;
  // What the gateway reported, summed, to compare with the ledger at the end.
  const reported = { requests: 0, input: 0, output: 0, costNano: 0 };
  const count = (usage: UsageWithCost | null | undefined) => {
    expect(usage).toBeTruthy();
    reported.requests++;
    reported.input += usage!.prompt_tokens;
    reported.output += usage!.completion_tokens;
    reported.costNano += Math.round(Number(usage!.cost_usd) * 1e9);
  };
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Name three colours.' },
  ];

  beforeAll(async () => {
    stack = await startLocalStack(
      loadConfig({ PORT: '0', TOLLGATE_IN_MEMORY: 'true', LOG_LEVEL: 'silent' }),
      createLogger('silent'),
    );
    apiKey = stack.demo.secret!;
    client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey, maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('models.list() lists the catalog', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) {
      expect(model.object).toBe('model');
      ids.push(model.id);
    }
    expect(ids).toEqual(expect.arrayContaining(['chat', 'chat@tiny-1', 'sentiment']));
  });

  let greedy = '';

  it('chat.completions.create() answers with real inference and its usage', async () => {
    const completion = await client.chat.completions.create({
      model: 'chat',
      messages,
      max_tokens: 24,
      temperature: 0,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('chat@tiny-1');
    const choice = completion.choices[0]!;
    expect(choice.message.role).toBe('assistant');
    expect(choice.message.content!.length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(choice.finish_reason);
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(20);
    expect(completion.usage!.total_tokens).toBe(
      completion.usage!.prompt_tokens + completion.usage!.completion_tokens,
    );
    greedy = choice.message.content!;
    count(completion.usage);
  });

  it('streams with stream_options.include_usage: role, deltas, finish_reason, then usage and cost', async () => {
    const stream = await client.chat.completions.create({
      model: 'chat@tiny-1',
      messages,
      max_tokens: 24,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(greedy);
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).length).toBe(1);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    const usage = last.usage as UsageWithCost;
    expect(usage.cost_usd).toMatch(/^\d+\.\d{9}$/);
    count(usage);
  });

  it('the .stream() helper assembles the same completion', async () => {
    const runner = client.chat.completions.stream({
      model: 'chat',
      messages,
      max_tokens: 24,
      temperature: 0,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    runner.on('content', (delta) => deltas.push(delta));
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe(greedy);
    expect(deltas.join('')).toBe(greedy);
    count(final.usage as UsageWithCost);
  });

  it('bad input raises BadRequestError naming the param', async () => {
    const error = await client.chat.completions
      .create({ model: 'chat', messages: [], max_tokens: 5 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as APIError).param).toBe('messages');
    const tooMany = await client.chat.completions
      .create({ model: 'chat', messages, max_tokens: 100_000 })
      .catch((e: unknown) => e);
    expect((tooMany as APIError).status).toBe(400);
    expect((tooMany as APIError).param).toBe('max_tokens');
    const unknown = await client.chat.completions
      .create({ model: 'chat@v0', messages, stream: true })
      .catch((e: unknown) => e);
    expect((unknown as APIError).param).toBe('model');
  });

  it('a stream the client aborts is billed for what was generated, once', async () => {
    const before = await ledger();
    const stream = await client.chat.completions.create({
      model: 'chat',
      messages,
      max_tokens: 512,
      temperature: 0,
      stream: true,
    });
    let contentChunks = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) contentChunks++;
      if (contentChunks === 3) break; // leaving the loop aborts the request
    }
    let after = await ledger();
    const deadline = Date.now() + 10_000;
    while (after.requests === before.requests && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      after = await ledger();
    }
    expect(after.requests).toBe(before.requests + 1);
    const output = after.output_tokens - before.output_tokens;
    expect(output).toBeGreaterThanOrEqual(3);
    expect(output).toBeLessThan(512);
    reported.requests++;
    reported.input += after.input_tokens - before.input_tokens;
    reported.output += output;
    reported.costNano += Math.round(Number(after.cost_usd) * 1e9) - Math.round(Number(before.cost_usd) * 1e9);
  });

  it('embeddings.create() in its default (base64, decoded by the SDK) and in float agree', async () => {
    const input = ['cat', 'dog', 'car'];
    const decoded = await client.embeddings.create({ model: 'embeddings', input });
    const float = await client.embeddings.create({ model: 'embeddings', input, encoding_format: 'float' });
    for (const answer of [decoded, float]) {
      expect(answer.model).toBe('embeddings@wink-100d');
      expect(answer.data.map((d) => d.embedding.length)).toEqual([100, 100, 100]);
      const usage = answer.usage as OpenAI.CreateEmbeddingResponse.Usage & { cost_usd: string };
      expect(usage.prompt_tokens).toBe(3);
      reported.requests++;
      reported.input += usage.prompt_tokens;
      reported.costNano += Math.round(Number(usage.cost_usd) * 1e9);
    }
    decoded.data[1]!.embedding.forEach((x, i) => {
      expect(x).toBeCloseTo(float.data[1]!.embedding[i]!, 6);
    });
    const [cat, dog, car] = float.data.map((d) => d.embedding);
    const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
    expect(dot(cat!, dog!)).toBeGreaterThan(dot(cat!, car!));
  });

  it('what the gateway reported equals the ledger (GET /v1/usage)', async () => {
    const totals = await ledger();
    expect(totals.requests).toBe(reported.requests);
    expect(totals.input_tokens).toBe(reported.input);
    expect(totals.output_tokens).toBe(reported.output);
    expect(Math.round(Number(totals.cost_usd) * 1e9)).toBe(reported.costNano);
  });

  /** The usage report as the API answers it, once the stream consumer has applied everything so far. */
  async function ledger() {
    await stack.drainUsage();
    const res = await fetch(`${stack.url}/v1/usage`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      totals: { requests: number; input_tokens: number; output_tokens: number; cost_usd: string };
    };
    return body.totals;
  }
});
