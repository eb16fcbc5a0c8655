import {
  InvokeEndpointCommand,
  ModelNotReadyException,
  SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { type RuntimeProcess, startRuntimeProcess } from '../../local/runtime/launcher';
import { ModelInputError } from '../../local/runtime/model-handler';
import {
  CallCancelledError,
  WorkerCrashedError,
  type WorkerEvent,
  WorkerModel,
} from '../../local/runtime/worker-model';
import { b64, textPng } from '../support/images';

const FAKES = new URL('../support/fake-engines.ts', import.meta.url).href;

function echoModel(
  options: { loadMs?: number; hardTimeoutMs?: number; cancelGraceMs?: number; events?: WorkerEvent[] } = {},
) {
  return new WorkerModel({
    name: 'echo',
    engine: { module: FAKES, factory: 'createEchoEngine', options: { loadMs: options.loadMs ?? 0 } },
    hardTimeoutMs: options.hardTimeoutMs ?? 60_000,
    cancelGraceMs: options.cancelGraceMs ?? 1_000,
    onEvent: (e) => options.events?.push(e),
  });
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('a model in a worker thread', () => {
  const models: WorkerModel[] = [];
  afterAll(async () => {
    await Promise.all(models.map((m) => m.close()));
  });

  it('reports loading until the engine is loaded, then answers', async () => {
    const model = echoModel({ loadMs: 300 });
    models.push(model);
    await model.load();
    expect(model.readiness()).toEqual({ state: 'loading' });
    await expect(model.invoke(json({ a: 1 }), 'application/json')).rejects.toBeInstanceOf(WorkerCrashedError);
    await model.whenReady();
    expect(await model.invoke(json({ a: 1 }), 'application/json')).toEqual({
      echoed: { a: 1 },
      thread: 'worker',
    });
  });

  it("passes the engine's input refusals back as input errors", async () => {
    const model = echoModel();
    models.push(model);
    await model.load();
    await model.whenReady();
    await expect(model.invoke(json({ bad: true }), undefined)).rejects.toBeInstanceOf(ModelInputError);
  });

  it('a crash fails the call it held, and the worker is restarted for the next one', async () => {
    const events: WorkerEvent[] = [];
    const model = echoModel({ events });
    models.push(model);
    await model.load();
    await model.whenReady();
    model.injectCrash();
    await expect(model.invoke(json({ n: 1 }), undefined)).rejects.toThrow(/died/);
    expect(model.readiness().state).toBe('loading');
    await model.whenReady();
    expect(await model.invoke(json({ n: 2 }), undefined)).toMatchObject({ echoed: { n: 2 } });
    expect(model.restarts).toBe(1);
    expect(events.map((e) => e.type)).toEqual(['ready', 'exit', 'ready']);
  });

  it('a call stuck past the hard limit kills the worker, which comes back', async () => {
    const model = echoModel({ hardTimeoutMs: 300 });
    models.push(model);
    await model.load();
    await model.whenReady();
    await expect(model.invoke(json({ hang: true }), undefined)).rejects.toBeInstanceOf(WorkerCrashedError);
    await model.whenReady();
    expect(await model.invoke(json({ n: 3 }), undefined)).toMatchObject({ echoed: { n: 3 } });
  });

  it('a call whose caller hung up stops at its next stage, and the same worker serves the next call', async () => {
    const model = echoModel();
    models.push(model);
    await model.load();
    await model.whenReady();
    const hangUp = new AbortController();
    // 100 stages of 50 ms: five seconds of work if nobody stopped it.
    const call = model.invoke(json({ stages: 100 }), undefined, hangUp.signal);
    setTimeout(() => hangUp.abort(), 100);
    await expect(call).rejects.toBeInstanceOf(CallCancelledError);
    expect(model.activity()).toEqual({ busy: 0, cancelled: 1, recycled: 0, restarts: 0 });
    expect(await model.invoke(json({ n: 4 }), undefined)).toMatchObject({ echoed: { n: 4 } });
  });

  it('a cancelled call that cannot stop is ended by replacing its worker, and the model stays ready', async () => {
    const events: WorkerEvent[] = [];
    const model = echoModel({ cancelGraceMs: 200, events });
    models.push(model);
    await model.load();
    await model.whenReady();
    const hangUp = new AbortController();
    // One blocking stretch of 20 s: no stage boundary to stop at.
    const call = model.invoke(json({ blockMs: 20_000 }), undefined, hangUp.signal);
    setTimeout(() => hangUp.abort(), 100);
    await expect(call).rejects.toBeInstanceOf(CallCancelledError);
    expect(model.activity()).toMatchObject({ busy: 0, cancelled: 1, recycled: 1 });
    // No outage to report: the next call waits for the new worker instead of failing.
    expect(model.readiness()).toEqual({ state: 'ready' });
    expect(await model.invoke(json({ n: 5 }), undefined)).toMatchObject({ echoed: { n: 5 } });
    expect(events.map((e) => e.type)).toEqual(['ready', 'exit', 'ready']);
  });

  it('an engine that cannot load is reported failed after a few tries, not retried for ever', async () => {
    const model = new WorkerModel({
      name: 'broken',
      engine: { module: FAKES, factory: 'createBrokenEngine' },
      maxStartFailures: 2,
    });
    models.push(model);
    await model.load();
    await expect(model.whenReady(30_000)).rejects.toThrow(/weights file not found/);
    expect(model.readiness()).toMatchObject({ state: 'failed' });
  });
});

describe('the runtime with a slow model', () => {
  let runtime: RuntimeProcess | undefined;
  let client: SageMakerRuntimeClient | undefined;
  afterAll(async () => {
    client?.destroy();
    await runtime?.stop();
  });

  it('says ModelNotReady while InceptionV3 loads, and inference never blocks the other endpoints', async () => {
    runtime = await startRuntimeProcess({
      env: { RUNTIME_MODELS: 'sentiment,image-moderation@inception-v3' },
    });
    client = new SageMakerRuntimeClient({
      endpoint: runtime.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const image = JSON.stringify({ image: b64(await textPng('PATIENCE')) });
    const inception = () =>
      client!.send(
        new InvokeEndpointCommand({
          EndpointName: 'tollgate-local-image-moderation',
          TargetVariant: 'inception-v3',
          ContentType: 'application/json',
          Body: image,
        }),
      );
    // The runtime listens before its vision models are loaded, and says so honestly.
    const ping = await fetch(`${runtime.url}/ping`);
    expect(ping.status).toBe(503);
    expect(await ping.json()).toMatchObject({
      status: 'loading',
      models: {
        'tollgate-local-sentiment/v1': 'ready',
        'tollgate-local-image-moderation/inception-v3': 'loading',
      },
    });
    const early = await inception().catch((e: unknown) => e);
    expect(early).toBeInstanceOf(ModelNotReadyException);
    expect((early as ModelNotReadyException).$metadata.httpStatusCode).toBe(429);

    const deadline = Date.now() + 60_000;
    while (!(await fetch(`${runtime.url}/ping`)).ok && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));

    // Four InceptionV3 calls queue on its worker; sentiment on the main thread answers before they finish.
    const order: string[] = [];
    const heavy = Array.from({ length: 4 }, () => inception().then(() => order.push('inception')));
    await new Promise((r) => setTimeout(r, 50));
    await client.send(
      new InvokeEndpointCommand({
        EndpointName: 'tollgate-local-sentiment',
        ContentType: 'application/json',
        Body: JSON.stringify({ inputs: ['quick answer please'] }),
      }),
    );
    order.push('sentiment');
    await Promise.all(heavy);
    expect(order.indexOf('sentiment')).toBeLessThan(order.lastIndexOf('inception'));
    expect(order.filter((o) => o === 'inception')).toHaveLength(4);
  });
});
