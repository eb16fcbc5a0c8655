import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  InvokeEndpointCommand,
  type InvokeEndpointCommandOutput,
  ModelError,
  SageMakerRuntimeClient,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RuntimeProcess, startRuntimeProcess } from '../../local/runtime/launcher';
import {
  type EndpointRegistry,
  endpoint,
  type ModelHandler,
  ModelInputError,
} from '../../local/runtime/registry';
import { createRuntimeServer } from '../../local/runtime/server';

type SentimentBody = {
  results: { label: string; score: number; tokens: number }[];
  usage: { input_tokens: number };
};

function clientFor(url: string): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

function sentiment(inputs: unknown, TargetVariant: string | undefined = 'v1') {
  return new InvokeEndpointCommand({
    EndpointName: 'tollgate-local-sentiment',
    ContentType: 'application/json',
    Body: JSON.stringify({ inputs }),
    ...(TargetVariant === undefined ? {} : { TargetVariant }),
  });
}

function decode(output: InvokeEndpointCommandOutput): unknown {
  return JSON.parse(new TextDecoder().decode(output.Body));
}

/** The rejection of `promise`, failing the test if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail, it succeeded');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

// These runtimes (and the ones their children fork) need only sentiment: no vision model loads.
process.env.RUNTIME_MODELS = 'sentiment';

describe('local model runtime process (SageMaker Runtime API)', () => {
  let runtime: RuntimeProcess;
  let client: SageMakerRuntimeClient;

  beforeAll(async () => {
    runtime = await startRuntimeProcess();
    client = clientFor(runtime.url);
  });

  afterAll(async () => {
    client?.destroy();
    await runtime?.stop();
  });

  it('answers the container health check', async () => {
    const response = await fetch(`${runtime.url}/ping`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ok',
      models: { 'tollgate-local-sentiment/v1': 'ready' },
    });
  });

  it('labels positive, negative, negated and neutral texts', async () => {
    const inputs = [
      'I love this product, it is absolutely wonderful!',
      'This is terrible. I hate it and it broke after a day.',
      'The food was not good.',
      'The meeting is on Tuesday.',
    ];
    const output = await client.send(sentiment(inputs));
    expect(output.InvokedProductionVariant).toBe('v1');
    expect(output.ContentType).toBe('application/json');
    const body = decode(output) as SentimentBody;
    expect(body.results.map((result) => result.label)).toEqual([
      'positive',
      'negative',
      'negative',
      'neutral',
    ]);
    for (const result of body.results) {
      expect(result.score).toBeGreaterThanOrEqual(-1);
      expect(result.score).toBeLessThanOrEqual(1);
      expect(Number.isInteger(result.tokens)).toBe(true);
      expect(result.tokens).toBeGreaterThan(0);
    }
    // "The food was not good ." is six tokens: punctuation counts.
    expect(body.results[2]?.tokens).toBe(6);
    expect(body.usage.input_tokens).toBe(body.results.reduce((sum, result) => sum + result.tokens, 0));
  });

  it('negation flips the polarity of the same words', async () => {
    const body = decode(
      await client.send(sentiment(['good', 'not good', 'bad', 'not bad'])),
    ) as SentimentBody;
    const [good, notGood, bad, notBad] = body.results;
    expect(good?.label).toBe('positive');
    expect(notGood?.label).not.toBe('positive');
    expect(notGood?.score).toBeLessThan(good?.score ?? 0);
    expect(bad?.label).toBe('negative');
    expect(notBad?.score).toBeGreaterThan(bad?.score ?? 0);
  });

  it('uses the default variant when no TargetVariant is given', async () => {
    const output = await client.send(sentiment(['fine'], undefined));
    expect(output.InvokedProductionVariant).toBe('v1');
  });

  it('unknown endpoint is a typed ValidationError', async () => {
    const error = await rejectionOf(
      client.send(new InvokeEndpointCommand({ EndpointName: 'no-such-endpoint', Body: '{}' })),
    );
    expect(error.name).toBe('ValidationError');
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toContain('no-such-endpoint');
    expect((error as ValidationError).$metadata.httpStatusCode).toBe(400);
  });

  it('unknown variant is a typed ValidationError', async () => {
    const error = await rejectionOf(client.send(sentiment(['hi'], 'v999')));
    expect(error.name).toBe('ValidationError');
    expect(error.message).toContain('v999');
  });

  it('bodies the model cannot read are ModelError with OriginalStatusCode 400', async () => {
    const bad: unknown[] = [
      '{not json',
      JSON.stringify({ inputs: [] }),
      JSON.stringify({ inputs: ['ok', 42] }),
      JSON.stringify({ inputs: ['  '] }),
      JSON.stringify({ inputs: Array.from({ length: 257 }, () => 'x') }),
      JSON.stringify({ text: 'hello' }),
      JSON.stringify(['hello']),
    ];
    for (const Body of bad) {
      const error = await rejectionOf(
        client.send(
          new InvokeEndpointCommand({
            EndpointName: 'tollgate-local-sentiment',
            ContentType: 'application/json',
            Body: Body as string,
          }),
        ),
      );
      expect(error, String(Body).slice(0, 40)).toBeInstanceOf(ModelError);
      const modelError = error as ModelError;
      expect(modelError.name).toBe('ModelError');
      expect(modelError.OriginalStatusCode).toBe(400);
      expect(modelError.OriginalMessage).toBeTruthy();
      expect(modelError.$metadata.httpStatusCode).toBe(424);
    }
  });

  it('unknown paths are a JSON 404', async () => {
    const response = await fetch(`${runtime.url}/nowhere`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ message: expect.any(String) });
  });

  it('turns away calls beyond a tiny capacity with ServiceUnavailable, without hanging', async () => {
    const tiny = await startRuntimeProcess({ env: { RUNTIME_MAX_IN_FLIGHT: '1', RUNTIME_MAX_QUEUE: '1' } });
    const tinyClient = clientFor(tiny.url);
    try {
      // Each call is tens of ms of model time, so the eight overlap on the runtime.
      const sentence = 'The service was wonderful but the delivery was late and the box was damaged. ';
      const heavy = Array.from({ length: 256 }, (_, index) => `${index} ${sentence.repeat(12)}`);
      const calls = Array.from({ length: 8 }, () => tinyClient.send(sentiment(heavy)));
      const settled = await Promise.race([
        Promise.allSettled(calls),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('busy calls hung')), 30_000)),
      ]);
      const ok = settled.filter((outcome) => outcome.status === 'fulfilled');
      const busy = settled.flatMap((outcome) =>
        outcome.status === 'rejected' ? [outcome.reason as Error] : [],
      );
      expect(ok.length).toBeGreaterThanOrEqual(1);
      expect(busy.length).toBeGreaterThanOrEqual(1);
      for (const error of busy) {
        expect(error.name).toBe('ServiceUnavailable');
        expect(error).toBeInstanceOf(ServiceUnavailable);
      }
      // Capacity frees up again once the burst is over.
      const after = await tinyClient.send(sentiment(['great']));
      expect(after.InvokedProductionVariant).toBe('v1');
    } finally {
      tinyClient.destroy();
      await tiny.stop();
    }
  });

  it('the child process is gone once stopped', async () => {
    const extra = await startRuntimeProcess();
    expect(isAlive(extra.pid)).toBe(true);
    await extra.stop();
    expect(isAlive(extra.pid)).toBe(false);
    await extra.stop(); // idempotent
  });

  it('a runtime that cannot start rejects with its stderr tail', async () => {
    const error = await rejectionOf(startRuntimeProcess({ port: runtime.port }));
    expect(error.message).toContain('exited before it was ready');
    expect(error.message).toContain('EADDRINUSE');
  });

  it('the child process exits when its parent dies without cleaning up', async () => {
    const launcher = fileURLToPath(new URL('../../local/runtime/launcher.ts', import.meta.url));
    const script = `
      const { startRuntimeProcess } = await import(${JSON.stringify(launcher)});
      const rt = await startRuntimeProcess();
      console.log('PID ' + rt.pid);
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    parent.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const started = await waitUntil(() => /PID \d+/.test(output), 30_000);
    expect(started, output).toBe(true);
    const pid = Number(/PID (\d+)/.exec(output)?.[1]);
    expect(isAlive(pid)).toBe(true);
    // SIGKILL skips the parent's exit hooks: only the IPC disconnect can tell the child.
    parent.kill('SIGKILL');
    await once(parent, 'exit');
    expect(await waitUntil(() => !isAlive(pid), 5_000)).toBe(true);
  });
});

describe('runtime server in process (routing and admission control)', () => {
  let releaseGate: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    releaseGate = resolve;
  });
  const gated: ModelHandler = {
    name: 'gated',
    async load() {},
    async invoke(body) {
      await gate;
      return { echoedBytes: body.length };
    },
  };
  const echo = (name: string): ModelHandler => ({
    name,
    async load() {},
    async invoke(body, contentType) {
      if (contentType !== 'application/json') throw new ModelInputError('json only');
      return { model: name, bytes: body.length };
    },
  });
  const failing: ModelHandler = {
    name: 'failing',
    async load() {},
    async invoke() {
      throw new Error('weights corrupted');
    },
  };
  const registry: EndpointRegistry = new Map([
    ['gated', endpoint({ only: gated }, { capacity: { maxInFlight: 1, maxQueue: 1 } })],
    ['two-versions', endpoint({ blue: echo('blue'), green: echo('green') })],
    ['failing', endpoint({ v1: failing })],
  ]);
  const server = createRuntimeServer(registry);
  let client: SageMakerRuntimeClient;

  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    client = clientFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  afterAll(async () => {
    releaseGate();
    client?.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const call = (EndpointName: string, TargetVariant?: string) =>
    client.send(
      new InvokeEndpointCommand({
        EndpointName,
        ContentType: 'application/json',
        Body: '{}',
        ...(TargetVariant === undefined ? {} : { TargetVariant }),
      }),
    );

  it('routes on the target variant header and defaults to the first variant', async () => {
    const green = await call('two-versions', 'green');
    expect(green.InvokedProductionVariant).toBe('green');
    expect(decode(green)).toEqual({ model: 'green', bytes: 2 });
    const fallback = await call('two-versions');
    expect(fallback.InvokedProductionVariant).toBe('blue');
  });

  it('a model that throws is ModelError with OriginalStatusCode 500', async () => {
    const error = (await rejectionOf(call('failing'))) as ModelError;
    expect(error.name).toBe('ModelError');
    expect(error.OriginalStatusCode).toBe(500);
    expect(error.OriginalMessage).toContain('weights corrupted');
  });

  it('one in flight, one queued, the third is turned away at once', async () => {
    const first = call('gated');
    const second = call('gated');
    // Give both time to reach the semaphore before the third arrives.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const startedAt = Date.now();
    const third = await rejectionOf(call('gated'));
    expect(third.name).toBe('ServiceUnavailable');
    expect((third as ServiceUnavailable).$metadata.httpStatusCode).toBe(503);
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    releaseGate();
    const results = await Promise.all([first, second]);
    expect(results.map((result) => result.InvokedProductionVariant)).toEqual(['only', 'only']);
    // Slots came back: a fresh call goes through.
    expect((await call('gated')).InvokedProductionVariant).toBe('only');
  });
});
