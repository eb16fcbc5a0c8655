import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EndpointRegistry, endpoint, type ModelHandler } from '../../local/runtime/registry';
import { createRuntimeServer } from '../../local/runtime/server';
import type { ModelCallResult, ModelInvocation } from '../../shared/models/model-client';
import { SageMakerModelClient } from '../../shared/models/sagemaker-client';

/**
 * Batch lines through the same client the gateway and the batch worker use (`priority: 'batch'`
 * becomes `priority=batch` in the CustomAttributes), against the runtime's admission queue: online
 * calls are served first, and only one batch call runs at a time.
 */

/** A model that holds every call until the test lets it finish, and records which call started when. */
function heldModel(name: string) {
  const started: string[] = [];
  const holds: (() => void)[] = [];
  let running = 0;
  let mostRunning = 0;
  const handler: ModelHandler = {
    name,
    async load() {},
    async invoke(body) {
      const { label } = JSON.parse(body.toString()) as { label: string };
      started.push(label);
      running++;
      mostRunning = Math.max(mostRunning, running);
      await new Promise<void>((resolve) => holds.push(resolve));
      running--;
      return { label };
    },
  };
  return {
    handler,
    started,
    get running() {
      return running;
    },
    get mostRunning() {
      return mostRunning;
    },
    /** Lets the oldest running call finish. */
    finishOne() {
      holds.shift()?.();
    },
  };
}

async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('the runtime serves online calls before batch calls', () => {
  const single = heldModel('single');
  const wide = heldModel('wide');
  const registry: EndpointRegistry = new Map([
    ['single', endpoint({ v1: single.handler }, { capacity: { maxInFlight: 1, maxQueue: 8 } })],
    ['wide', endpoint({ v1: wide.handler }, { capacity: { maxInFlight: 4, maxQueue: 8 } })],
  ]);
  const server = createRuntimeServer(registry);
  let client: SageMakerModelClient;
  let base = '';

  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new SageMakerModelClient({ region: 'us-east-1', endpoint: base });
  });

  afterAll(async () => {
    for (let i = 0; i < 20; i++) {
      single.finishOne();
      wide.finishOne();
    }
    client?.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const call = (endpointName: string, label: string, priority?: 'batch'): Promise<ModelCallResult> => {
    const invocation: ModelInvocation = {
      endpointName,
      variant: 'v1',
      body: { label },
      timeoutMs: 10_000,
      requestId: `req-${label}`,
      tenantId: 'ten_same',
      ...(priority ? { priority } : {}),
    };
    return client.invoke(invocation);
  };

  const state = async (name: string) => {
    const body = (await (await fetch(`${base}/state`)).json()) as {
      variants: Record<string, Record<string, number>>;
    };
    return body.variants[`${name}/v1`]!;
  };

  it('an online call queued behind batch calls of the same tenant runs next', async () => {
    const batch = [call('single', 'batch-1', 'batch')];
    await until(() => single.started.length === 1, 'the first batch call to start');
    batch.push(call('single', 'batch-2', 'batch'), call('single', 'batch-3', 'batch'));
    await until(async () => (await state('single')).batchQueued === 2, 'two batch calls to queue');
    // Same tenant, so fair turns alone would serve it last: only its priority moves it up.
    const online = call('single', 'online-1');
    await until(async () => (await state('single')).queued === 3, 'the online call to queue');
    single.finishOne();
    await until(() => single.started.length === 2, 'the next call to start');
    expect(single.started).toEqual(['batch-1', 'online-1']);
    single.finishOne();
    const answer = await online;
    expect(answer.ok && answer.body).toEqual({ label: 'online-1' });
    for (const count of [3, 4]) {
      await until(() => single.started.length === count, 'the next batch call to start');
      single.finishOne();
    }
    const results = await Promise.all(batch);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(single.started).toEqual(['batch-1', 'online-1', 'batch-2', 'batch-3']);
    expect(single.mostRunning).toBe(1);
  });

  it('one batch call runs at a time however many slots are free, and online calls take the rest', async () => {
    const batch = ['batch-a', 'batch-b', 'batch-c'].map((label) => call('wide', label, 'batch'));
    await until(() => wide.started.length === 1, 'a batch call to start');
    await until(async () => (await state('wide')).batchQueued === 2, 'two batch calls to queue');
    expect(await state('wide')).toMatchObject({ inFlight: 1, batchInFlight: 1, batchQueued: 2 });
    // Three online calls start at once beside it.
    const online = ['online-a', 'online-b', 'online-c'].map((label) => call('wide', label));
    await until(() => wide.running === 4, 'the online calls to start');
    expect(wide.started.slice(1).sort()).toEqual(['online-a', 'online-b', 'online-c']);
    // The running calls finish in the order they started; each freed batch slot goes to the next
    // batch call only.
    for (let i = 0; i < 4; i++) wide.finishOne();
    await Promise.all(online);
    await until(() => wide.started.length === 5, 'the second batch call');
    expect((await state('wide')).batchInFlight).toBe(1);
    wide.finishOne();
    await until(() => wide.started.length === 6, 'the third batch call');
    wide.finishOne();
    expect((await Promise.all(batch)).every((result) => result.ok)).toBe(true);
    expect(wide.started.filter((label) => label.startsWith('batch'))).toEqual([
      'batch-a',
      'batch-b',
      'batch-c',
    ]);
    expect((await state('wide')).inFlight).toBe(0);
  });
});
