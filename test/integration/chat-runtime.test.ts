import type { AddressInfo } from 'node:net';
import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  ModelError,
  ModelStreamError,
  SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTinyChatModel } from '../../local/models/build-test-model';
import { modelsDir } from '../../local/models/paths';
import { TINY_CHAT_ID } from '../../local/models/tiny-chat';
import { type RuntimeProcess, startRuntimeProcess } from '../../local/runtime/launcher';
import { createChatModel } from '../../local/runtime/models/chat';
import { endpoint } from '../../local/runtime/registry';
import { createRuntimeServer } from '../../local/runtime/server';

type Line = {
  delta?: string;
  finish_reason?: string;
  usage: { input_tokens: number; output_tokens: number };
};

const clientFor = (url: string) =>
  new SageMakerRuntimeClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });

const body = (content: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ messages: [{ role: 'user', content }], max_tokens: 20, temperature: 0, ...extra });

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail, it succeeded');
}

describe('chat on the runtime process: InvokeEndpointWithResponseStream through the AWS SDK', () => {
  let runtime: RuntimeProcess;
  let client: SageMakerRuntimeClient;
  const logs: string[] = [];
  const stream = (Body: string, TargetVariant = 'tiny-1', abortSignal?: AbortSignal) =>
    client.send(
      new InvokeEndpointWithResponseStreamCommand({
        EndpointName: 'tollgate-local-chat',
        TargetVariant,
        ContentType: 'application/json',
        Body,
      }),
      abortSignal ? { abortSignal } : {},
    );

  beforeAll(async () => {
    runtime = await startRuntimeProcess({ onLog: (line) => logs.push(line) });
    client = clientFor(runtime.url);
  });
  afterAll(async () => {
    client?.destroy();
    await runtime?.stop();
  });

  it('sends PayloadPart events of JSON lines, and the same answer as InvokeEndpoint', async () => {
    const out = await stream(body('Hello'));
    expect(out.InvokedProductionVariant).toBe('tiny-1');
    expect(out.ContentType).toBe('application/jsonlines');
    const lines: Line[] = [];
    for await (const event of out.Body!) {
      expect(event.PayloadPart?.Bytes).toBeInstanceOf(Uint8Array);
      const text = new TextDecoder().decode(event.PayloadPart!.Bytes);
      expect(text.endsWith('\n')).toBe(true);
      lines.push(JSON.parse(text) as Line);
    }
    const final = lines.at(-1)!;
    expect(final.finish_reason).toBe('length');
    expect(final.usage.output_tokens).toBe(20);
    // Every delta reports the tokens generated so far: a reader that stops knows what it cost.
    const counts = lines.slice(0, -1).map((l) => l.usage.output_tokens);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));

    const whole = await client.send(
      new InvokeEndpointCommand({
        EndpointName: 'tollgate-local-chat',
        TargetVariant: 'tiny-1',
        ContentType: 'application/json',
        Body: body('Hello'),
      }),
    );
    const answer = JSON.parse(new TextDecoder().decode(whole.Body)) as { text: string; usage: Line['usage'] };
    expect(lines.map((l) => l.delta ?? '').join('')).toBe(answer.text);
    expect(answer.usage).toEqual(final.usage);
  });

  it('a request the model refuses is a typed ModelError (400) before any event', async () => {
    for (const bad of [
      body('x', { max_tokens: 0 }),
      body('x', { stop: ['a', 'b', 'c', 'd', 'e'] }),
      '{oops',
    ]) {
      const error = await rejectionOf(stream(bad));
      expect(error).toBeInstanceOf(ModelError);
      expect((error as ModelError).OriginalStatusCode).toBe(400);
    }
    const tooLong = await rejectionOf(stream(body('y'.repeat(100), { max_input_tokens: 50 })));
    expect((tooLong as ModelError).OriginalMessage).toContain('at most 50');
  });

  it('a model that does not stream, and weights that were never pulled, are typed errors', async () => {
    const noStream = await rejectionOf(
      client.send(
        new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'tollgate-local-sentiment', Body: '{}' }),
      ),
    );
    expect(noStream.name).toBe('ValidationError');
    expect(noStream.message).toContain('does not support response streaming');
    const notPulled = await rejectionOf(stream(body('hi'), 'smollm2-135m'));
    // As SageMaker answers a variant that is not deployed: not a 429 "not ready", which callers retry.
    expect(notPulled.name).toBe('ValidationError');
    expect(notPulled.message).toContain('is not installed');
    expect(notPulled.message).toContain('npm run models:pull');
  });

  it('aborting the call mid-stream stops the generation on the runtime', async () => {
    const abort = new AbortController();
    const out = await stream(body('Tell me everything', { max_tokens: 2_000 }), 'tiny-1', abort.signal);
    let parts = 0;
    await expect(
      (async () => {
        for await (const _event of out.Body!) {
          if (++parts === 3) abort.abort();
        }
      })(),
    ).rejects.toThrow();
    const deadline = Date.now() + 5_000;
    const aborted = () => logs.some((line) => line.includes('"status":499'));
    while (!aborted() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(aborted()).toBe(true);
  });
});

describe('chat worker crashes, seen through the AWS SDK', () => {
  const chat = createChatModel({
    modelId: TINY_CHAT_ID,
    modelsRoot: modelsDir(),
    prepare: async () => {
      await ensureTinyChatModel();
    },
    workerEntry: new URL('../support/crashing-chat-worker.ts', import.meta.url),
  });
  const server = createRuntimeServer(new Map([['chat', endpoint({ v: chat })]]));
  let client: SageMakerRuntimeClient;
  beforeAll(async () => {
    await chat.load();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = clientFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    client?.destroy();
    await chat.close?.();
    server.closeAllConnections();
    server.close();
  });

  it('a crash mid-stream raises a typed ModelStreamError; the restarted worker serves the next call', async () => {
    const out = await client.send(
      new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'chat', Body: body('CRASH AFTER 3') }),
    );
    let parts = 0;
    const error = await rejectionOf(
      (async () => {
        for await (const _event of out.Body!) parts++;
      })(),
    );
    expect(parts).toBeGreaterThanOrEqual(3);
    expect(error).toBeInstanceOf(ModelStreamError);
    expect(error.message).toContain('exited unexpectedly');
    expect(chat.restarts()).toBe(1);

    const next = await client.send(new InvokeEndpointCommand({ EndpointName: 'chat', Body: body('hello') }));
    expect(JSON.parse(new TextDecoder().decode(next.Body))).toMatchObject({ finish_reason: 'length' });
  });
});
