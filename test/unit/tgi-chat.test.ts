import { describe, expect, it } from 'vitest';
import { chatWireOf, parseWireVersions } from '../../shared/catalog/chat-wire';
import { modelDeployments } from '../../shared/catalog/deployment';
import { chatAdapterFor } from '../../shared/models/chat-adapter';
import { ModelStreamFailure } from '../../shared/models/model-client';

const tgi = chatAdapterFor('tgi-messages');
const encoder = new TextEncoder();

async function* parts(...chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

async function collect(bytes: Uint8Array[], bound = 100): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const line of tgi.lines(parts(...bytes), bound)) out.push(line);
  return out;
}

/** The failure the stream ends with (and what it yielded before it). */
async function failure(text: string): Promise<{ lines: unknown[]; error: ModelStreamFailure }> {
  const lines: unknown[] = [];
  try {
    for await (const line of tgi.lines(parts(encoder.encode(text)), 100)) lines.push(line);
  } catch (error) {
    if (error instanceof ModelStreamFailure) return { lines, error };
    throw error;
  }
  throw new Error('the stream did not fail');
}

const chunk = (content: string, finish: string | null = null, usage: unknown = null) =>
  `data: ${JSON.stringify({
    object: 'chat.completion.chunk',
    id: '',
    created: 1,
    model: 'm',
    system_fingerprint: '3.0.1-native',
    choices: [{ index: 0, delta: { role: 'assistant', content }, logprobs: null, finish_reason: finish }],
    usage,
  })}\n\n`;
const usage = { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 };

// TGI 3.0.1 (the pinned image): the usage rides on the last token's chunk.
const v301 = `${chunk('Hé')}${chunk('llo 🙂')}${chunk('')}${chunk('', 'stop', usage)}data: [DONE]\n\n`;
// TGI 3.1 and later: a chunk of its own with no choices.
const v31 = `${chunk('Hé')}${chunk('llo 🙂')}${chunk('')}${chunk('', 'stop')}data: ${JSON.stringify({
  object: 'chat.completion.chunk',
  id: '',
  created: 1,
  model: 'm',
  system_fingerprint: '3.3.0-native',
  choices: [],
  usage,
})}\n\ndata: [DONE]\n\n`;

const expected = [
  { delta: 'Hé', usage: { input_tokens: 100, output_tokens: 1 } },
  { delta: 'llo 🙂', usage: { input_tokens: 100, output_tokens: 2 } },
  { delta: '', usage: { input_tokens: 100, output_tokens: 3 } },
];
const end = { finish_reason: 'stop', usage: { input_tokens: 12, output_tokens: 4 } };

describe('which wire a chat version speaks', () => {
  it("follows the deployment table's container: TGI speaks its Messages API, the rest the model server", () => {
    for (const [version, deployment] of Object.entries(modelDeployments)) {
      expect(chatWireOf(version)).toBe(deployment.image.kind === 'hf-tgi' ? 'tgi-messages' : 'model-server');
    }
    expect(chatWireOf('chat@not-deployed')).toBe('model-server');
  });

  it('LLM_WIRE_VERSIONS adds versions that speak TGI, and refuses what is not model@version', () => {
    const versions = parseWireVersions(' chat@tiny-1, ,chat@x ');
    expect([...versions]).toEqual(['chat@tiny-1', 'chat@x']);
    expect(chatWireOf('chat@tiny-1', versions)).toBe('tgi-messages');
    expect(parseWireVersions(undefined).size).toBe(0);
    expect(() => parseWireVersions('chat')).toThrow(/model@version/);
  });
});

describe("the gateway's TGI Messages adapter", () => {
  it("asks TGI's ChatRequest, leaving out what TGI refuses or defaults (top_p 1, no stop)", () => {
    const request = {
      messages: [{ role: 'user' as const, content: 'hi' }],
      max_tokens: 8,
      temperature: 0,
      top_p: 1,
      stop: [],
      max_input_tokens: 1_536,
    };
    expect(tgi.request(request, false)).toEqual({
      model: 'tgi',
      messages: request.messages,
      max_tokens: 8,
      temperature: 0,
      stream: false,
    });
    expect(tgi.request({ ...request, top_p: 0.9, stop: ['\n'] }, true)).toEqual({
      model: 'tgi',
      messages: request.messages,
      max_tokens: 8,
      temperature: 0,
      top_p: 0.9,
      stop: ['\n'],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('reads a chat.completion; eos and stop sequences both finish with stop', () => {
    const completion = (finish: string) => ({
      object: 'chat.completion',
      id: '',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: finish }],
      usage,
    });
    expect(tgi.answer(completion('length'))).toEqual({
      text: 'Hi',
      finish_reason: 'length',
      usage: { input_tokens: 12, output_tokens: 4 },
    });
    expect(tgi.answer(completion('stop_sequence'))).toMatchObject({ finish_reason: 'stop' });
    expect(tgi.answer(completion('eos_token'))).toMatchObject({ finish_reason: 'stop' });
    // Garbage stays garbage: the route's check turns it into a 502.
    expect(tgi.answer({})).toEqual({ text: undefined, finish_reason: undefined, usage: undefined });
  });

  it('counts one token per chunk, reports the bound until the usage, and ends on TGI usage (3.0.1 and 3.1+)', async () => {
    expect(await collect([encoder.encode(v301)])).toEqual([
      ...expected,
      { delta: '', usage: { input_tokens: 12, output_tokens: 4 } },
      end,
    ]);
    expect(await collect([encoder.encode(v31)])).toEqual([
      ...expected,
      { delta: '', usage: { input_tokens: 100, output_tokens: 4 } },
      end,
    ]);
  });

  it('reads the same lines whatever the PayloadPart boundaries, inside a UTF-8 character too', async () => {
    for (const text of [v301, v31]) {
      const bytes = encoder.encode(text);
      const whole = await collect([bytes]);
      for (let at = 1; at < bytes.length; at++) {
        expect(await collect([bytes.subarray(0, at), bytes.subarray(at)])).toEqual(whole);
      }
      expect(await collect([...bytes].map((b) => Uint8Array.of(b)))).toEqual(whole);
    }
  });

  it('skips keep-alive comments and other fields, and reads CRLF line ends', async () => {
    const text = `: keep-alive\n\n${v301}`.replaceAll('\n', '\r\n').replace('data: {', 'id: 7\r\ndata: {');
    expect(await collect([encoder.encode(text)])).toEqual(await collect([encoder.encode(v301)]));
  });

  it("an `Input validation error` before any token is the caller's (rejected); other errors are the model's", async () => {
    const refusal = `data: ${JSON.stringify({
      error: {
        message: 'Input validation error: `inputs` must have less than 1536 tokens. Given: 2000',
        http_status_code: 422,
      },
    })}\n\ndata: [DONE]\n\n`;
    const before = await failure(refusal);
    expect(before.lines).toEqual([]);
    expect(before.error.reason).toBe('rejected');
    expect(before.error.message).toMatch(/^Input validation error: `inputs` must have less than 1536 tokens/);

    const generation = `data: ${JSON.stringify({
      error: { message: 'Request failed during generation: CUDA out of memory', http_status_code: 422 },
    })}\n\n`;
    expect((await failure(generation)).error.reason).toBe('model_error');

    const after = await failure(`${chunk('Hi')}${refusal}`);
    expect(after.lines).toHaveLength(1);
    expect(after.error.reason).toBe('model_error');
  });

  it('a stream that ends without its usage, or mid-answer, or with a line that is not JSON, is a model failure', async () => {
    expect((await failure(`${chunk('a', 'stop')}data: [DONE]\n\n`)).error.message).toMatch(
      /without its usage/,
    );
    expect((await failure(chunk('a'))).error.message).toMatch(/without a finish reason/);
    expect((await failure('data: {"choices": [\n\n')).error.message).toMatch(/not JSON/);
  });
});
