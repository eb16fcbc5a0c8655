import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTinyChatModel } from '../../local/models/build-test-model';
import { modelsDir } from '../../local/models/paths';
import { containerMode } from '../../local/runtime/container';
import { type RuntimeProcess, startRuntimeProcess } from '../../local/runtime/launcher';

/**
 * The model-server image's process, started as its Dockerfile starts it but without Docker: the
 * same entry (local/runtime/main.ts) with the environment SageMaker and the Models stack give the
 * container. Only the port differs (0 instead of 8080, so parallel runs cannot collide).
 */
async function container(version: string, logs: string[] = []): Promise<RuntimeProcess> {
  return startRuntimeProcess({
    env: { TOLLGATE_MODEL_VERSION: version, RUNTIME_MODELS: '' },
    onLog: (line) => logs.push(line),
    waitForModels: true,
  });
}

describe('SageMaker container mode (TOLLGATE_MODEL_VERSION)', () => {
  let sentiment: RuntimeProcess;
  let chat: RuntimeProcess;
  const logs: string[] = [];
  beforeAll(async () => {
    await ensureTinyChatModel(modelsDir());
    [sentiment, chat] = await Promise.all([container('sentiment@v1', logs), container('chat@tiny-1', logs)]);
  });
  afterAll(async () => {
    await Promise.all([sentiment?.stop(), chat?.stop()]);
  });

  it('answers GET /ping with 200 once its model is loaded', async () => {
    const res = await fetch(`${sentiment.url}/ping`);
    expect(res.status).toBe(200);
    expect(logs.some((l) => l.includes('"container":"sentiment@v1"'))).toBe(true);
  });

  it('serves POST /invocations with the one version it hosts', async () => {
    const res = await fetch(`${sentiment.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ inputs: ['I love this, it is wonderful'] }),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(JSON.stringify(JSON.parse(text))).toMatch(/positive/i);
  });

  it("answers a bad input with the model's own 400 (SageMaker's ModelError OriginalStatusCode)", async () => {
    const res = await fetch(`${sentiment.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"nope": true}',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message.length).toBeGreaterThan(0);
  });

  it('hosts nothing else: the local multi-endpoint path is not how a container is called', async () => {
    const ping = await fetch(`${sentiment.url}/invocations`);
    expect(ping.status).toBe(405);
    const res = await fetch(`${sentiment.url}/endpoints/tollgate-local-chat/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
    });
    expect(res.status).toBe(400);
  });

  it('streams raw JSON lines, chunked, when the caller accepts application/jsonlines', async () => {
    const res = await fetch(`${chat.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/jsonlines' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }], max_tokens: 5, temperature: 0 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/jsonlines');
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    // SageMaker adds the event-stream framing itself: the container sends the model's bytes only.
    const lines = (await res.text())
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { delta?: string; usage?: { output_tokens: number } });
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.at(-1)!.usage!.output_tokens).toBeGreaterThan(0);
  });

  it('answers the same request unstreamed as one JSON document', async () => {
    const res = await fetch(`${chat.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }], max_tokens: 5, temperature: 0 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toMatchObject({ usage: { output_tokens: expect.any(Number) } });
  });
});

describe('container mode settings', () => {
  it('listens on 0.0.0.0:8080 for exactly one named version', () => {
    expect(containerMode({ TOLLGATE_MODEL_VERSION: 'sentiment@v1' }, 'local')).toEqual({
      version: 'sentiment@v1',
      port: 8080,
      host: '0.0.0.0',
    });
    expect(containerMode({}, 'local')).toBeUndefined();
    for (const bad of ['sentiment', 'image-moderation', 'nope@v1']) {
      expect(() => containerMode({ TOLLGATE_MODEL_VERSION: bad }, 'local'), bad).toThrow(
        /TOLLGATE_MODEL_VERSION|no model/,
      );
    }
  });
});
