import { describe, expect, it } from 'vitest';
import {
  choiceChunk,
  SSE_DONE,
  sseError,
  sseEvent,
  usageChunk,
} from '../../functions/api/routes/v1/chat/chunks';
import { ChatRequest, toModelRequest } from '../../functions/api/routes/v1/chat/schema';
import { ApiError } from '../../shared/errors';

const base = { id: 'req_1', created: 1_700_000_000, model: 'chat@tiny-1' };

describe('SSE formatting of chat completion streams', () => {
  it('an event is `data:` plus a blank line, with `event:` before it when named', () => {
    expect(sseEvent('{"a":1}')).toBe('data: {"a":1}\n\n');
    expect(sseEvent('{}', 'error')).toBe('event: error\ndata: {}\n\n');
    expect(SSE_DONE).toBe('data: [DONE]\n\n');
  });

  it('refuses multi-line data, which would split into two fields', () => {
    expect(() => sseEvent('a\nb')).toThrow();
    expect(() => sseEvent('a', 'x\ry')).toThrow();
  });

  it('an error event carries the OpenAI envelope', () => {
    const envelope = new ApiError('model_timeout', 'too slow').toEnvelope('req_1');
    const text = sseError(envelope);
    expect(text.startsWith('event: error\ndata: ')).toBe(true);
    expect(JSON.parse(text.slice('event: error\ndata: '.length))).toEqual({
      error: {
        message: 'too slow',
        type: 'api_error',
        code: 'model_timeout',
        param: null,
        request_id: 'req_1',
      },
    });
  });

  it('chunks have the chat.completion.chunk shape; the usage chunk has no choices', () => {
    expect(choiceChunk(base, { role: 'assistant', content: '' })).toEqual({
      ...base,
      object: 'chat.completion.chunk',
      system_fingerprint: null,
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    });
    expect(choiceChunk(base, {}, 'length').choices[0]!.finish_reason).toBe('length');
    const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, cost_usd: '0.000000450' };
    expect(usageChunk(base, usage)).toMatchObject({ choices: [], usage });
  });
});

describe('the chat request as the model receives it', () => {
  it('maps developer to system, joins text parts, and normalises stop and defaults', () => {
    const body = ChatRequest.parse({
      model: 'chat',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
      ],
      stop: 'END',
    });
    expect(toModelRequest(body, 64, 1_536)).toEqual({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'a\nb' },
      ],
      max_tokens: 64,
      temperature: 1,
      top_p: 1,
      stop: ['END'],
      max_input_tokens: 1_536,
    });
    const greedy = ChatRequest.parse({
      model: 'chat',
      messages: [{ role: 'user', content: 'x' }],
      temperature: 0,
    });
    expect(toModelRequest(greedy, 5)).toMatchObject({ temperature: 0, stop: [] });
  });
});
