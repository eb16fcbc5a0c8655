import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { InternalServerError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { type FakeHub, startFakeHub, tinyModelRepo } from '../support/fake-hub';

const HUB_ID = 'HuggingFaceTB/SmolLM2-360M-Instruct';
const REAL = 'chat@smollm2-360m';

interface Listed {
  id: string;
  serving_version?: string | null;
  available?: boolean;
  install_command?: string | null;
}

/**
 * `npm start`'s fetch of the real chat model, end to end and offline: a hub on this machine serves
 * the self-built test model in the hub's layout under the real model's id. The first start is cut
 * off mid-download and keeps serving the test model; the next start resumes the download, verifies
 * it, and `chat` then resolves to the downloaded model.
 */
describe('npm start fetches the default chat model in the background and registers it', () => {
  let hub: FakeHub;
  let models: string;
  let stack: LocalStack | undefined;
  const printed: string[] = [];
  const previousDir = process.env.TOLLGATE_MODELS_DIR;
  const start = async () => {
    const config = loadConfig({
      PORT: '0',
      TOLLGATE_IN_MEMORY: 'true',
      LOG_LEVEL: 'silent',
      HF_ENDPOINT: hub.url,
    });
    return startLocalStack(config, createLogger('silent'), {
      print: (text) => printed.push(text),
      fetchModels: true,
    });
  };
  const list = async (s: LocalStack) => {
    const res = await fetch(`${s.url}/v1/models`, { headers: { authorization: `Bearer ${s.demo.secret}` } });
    return ((await res.json()) as { data: Listed[] }).data;
  };

  beforeAll(async () => {
    hub = await startFakeHub({ [HUB_ID]: tinyModelRepo() });
    models = await mkdtemp(join(tmpdir(), 'tollgate-models-'));
    // The runtime process inherits it: weights go to (and are read from) a folder of this test's own.
    process.env.TOLLGATE_MODELS_DIR = models;
  });
  afterAll(async () => {
    await stack?.stop();
    await hub?.close();
    if (previousDir === undefined) delete process.env.TOLLGATE_MODELS_DIR;
    else process.env.TOLLGATE_MODELS_DIR = previousDir;
    await rm(models, { recursive: true, force: true });
  });

  it('a download cut off leaves `chat` on the test model and the real one listed as not installed', async () => {
    hub.cutNextAfter(40_000);
    stack = await start();
    expect(stack.models.chat).toBe('chat@tiny-1');
    expect(await stack.models.fetch).toMatchObject({ state: 'offline' });
    expect(printed.join('')).toMatch(
      /offline .*`chat` stays chat@tiny-1.*npm run models:pull -- HuggingFaceTB\/SmolLM2-360M-Instruct/,
    );

    const data = await list(stack);
    expect(data.find((m) => m.id === 'chat')?.serving_version).toBe('chat@tiny-1');
    expect(data.find((m) => m.id === REAL)).toMatchObject({
      available: false,
      install_command: `npm run models:pull -- ${HUB_ID}`,
    });
    // The official SDK with its default retries: one request, a clear error.
    let requests = 0;
    const client = new OpenAI({
      baseURL: `${stack.url}/v1`,
      apiKey: stack.demo.secret!,
      fetch: (url: string | URL | Request, init?: RequestInit) => {
        requests++;
        return fetch(url, init);
      },
    });
    const err = await client.chat.completions
      .create({ model: REAL, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InternalServerError);
    expect((err as InternalServerError).code).toBe('model_not_installed');
    expect(requests).toBe(1);
    await stack.stop();
    stack = undefined;
  });

  it('the next start resumes the download with a Range, verifies it, and `chat` answers from it', async () => {
    printed.length = 0;
    stack = await start();
    const outcome = await stack.models.fetch;
    expect(outcome).toMatchObject({ state: 'downloaded' });
    expect(hub.ranges.some((r) => r !== null && /^bytes=[1-9]\d*-$/.test(r))).toBe(true);
    const out = printed.join('');
    expect(out).toMatch(/downloading HuggingFaceTB\/SmolLM2-360M-Instruct: .* \(100%\)/);
    expect(out).toContain(`\`chat\` is now ${REAL}`);

    const data = await list(stack);
    expect(data.find((m) => m.id === 'chat')?.serving_version).toBe(REAL);
    expect(data.find((m) => m.id === REAL)?.available).toBe(true);

    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: stack.demo.secret!, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
      max_tokens: 8,
      temperature: 0,
    });
    expect(completion.model).toBe(REAL);
    expect(completion.usage!.completion_tokens).toBeGreaterThan(0);
    const stream = await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 4,
      stream: true,
    });
    const served = new Set<string>();
    for await (const chunk of stream) served.add(chunk.model);
    expect([...served]).toEqual([REAL]);
    // The test model stays callable by name.
    const tiny = await client.chat.completions.create({
      model: 'chat@tiny-1',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 2,
    });
    expect(tiny.model).toBe('chat@tiny-1');
  });
});
