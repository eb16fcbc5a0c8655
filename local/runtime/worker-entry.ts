/**
 * Inside a model's worker thread: loads one engine (named by workerData), says `ready`, then answers
 * `invoke` messages one at a time. Input refusals travel back as `input: true` so the runtime can
 * answer them as the model's 400. A `cancel` message aborts the call's signal: the engine stops at
 * its next stage (the runtime replaces a worker that does not stop in time).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ModelInputError } from './model-handler';
import type { EngineSpec } from './worker-model';

/** What an engine module's factory returns. */
export interface Engine {
  /** `signal` aborts when the caller hung up: check it between stages (`signal.throwIfAborted()`). */
  run(body: Buffer, contentType: string | undefined, signal: AbortSignal): Promise<unknown>;
}

type Invoke = { type: 'invoke'; id: number; body: Uint8Array; contentType: string | undefined };
type Cancel = { type: 'cancel'; id: number };

const port = parentPort;
if (!port) throw new Error('worker-entry must run in a worker thread');

const spec = (workerData as { engine: EngineSpec }).engine;
const started = performance.now();
const mod = (await import(spec.module)) as Record<string, (options: unknown) => Promise<Engine>>;
const factory = mod[spec.factory];
if (!factory) throw new Error(`${spec.module} has no export ${spec.factory}`);
const engine = await factory(spec.options ?? {});
let crashNext = false;
const running = new Map<number, AbortController>();

port.on('message', async (message: Invoke | Cancel | { type: 'crash-next' }) => {
  if (message.type === 'crash-next') {
    crashNext = true;
    return;
  }
  if (message.type === 'cancel') {
    running.get(message.id)?.abort(new Error('cancelled: the caller hung up'));
    return;
  }
  if (crashNext) {
    // Injected fault: die the way a native crash or an uncaught bug would, mid-call.
    setImmediate(() => {
      throw new Error('injected crash');
    });
    return;
  }
  const body = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
  const controller = new AbortController();
  running.set(message.id, controller);
  try {
    const value = await engine.run(body, message.contentType, controller.signal);
    port.postMessage({ type: 'result', id: message.id, ok: true, value });
  } catch (err) {
    port.postMessage({
      type: 'result',
      id: message.id,
      ok: false,
      input: err instanceof ModelInputError,
      message: err instanceof Error ? err.message : String(err),
    });
  } finally {
    running.delete(message.id);
  }
});
port.postMessage({ type: 'ready', loadMs: Math.round(performance.now() - started) });
