/**
 * Process entry of the local model runtime: loads every model, serves the SageMaker Runtime API, and
 * announces `{ type: 'ready', port }` over IPC (when forked) and as a stdout line.
 *
 * Env: RUNTIME_PORT (0 = ephemeral), RUNTIME_HOST (127.0.0.1), RUNTIME_MAX_IN_FLIGHT,
 * RUNTIME_MAX_QUEUE, RUNTIME_MAX_QUEUE_WAIT_MS, RUNTIME_MAX_BATCH_IN_FLIGHT (batch calls running at
 * once per variant, default 1), RUNTIME_LOG_REQUESTS=1 to log successful calls too,
 * RUNTIME_MODELS (`sentiment,image-moderation@mobilenet-v2,ocr`; default all) to host a subset,
 * RUNTIME_FAULTS=1 to enable the fault-injection route tests use, LLM_WIRE_VERSIONS (`chat@tiny-1`)
 * to serve chat versions in TGI's format besides those TGI serves in AWS (shared/catalog/chat-wire.ts).
 * TOLLGATE_MODEL_VERSION=`model@version` switches to SageMaker container mode (the model-server
 * image): that one version, `POST /invocations` and `GET /ping` on 0.0.0.0:8080 (container.ts).
 *
 * Cheap models load before `ready`; worker-thread models (vision) load in the background after it,
 * answering 429 ModelNotReadyException until they can serve, and `/ping` says which are loading.
 */
import type { AddressInfo } from 'node:net';
import { parseWireVersions } from '../../shared/catalog/chat-wire';
import { containerMode, containerTarget } from './container';
import { createDefaultRegistry, handlersOf, loadRegistry, parseModelSelection } from './registry';
import { DEFAULT_MAX_BATCH_IN_FLIGHT } from './semaphore';
import { createRuntimeServer, DEFAULT_CAPACITY, type RuntimeServerOptions } from './server';

// Logs are JSON lines on stdout/stderr and never include request bodies: those are customer prompts.
function log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  const line = `${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`;
  (level === 'info' ? process.stdout : process.stderr).write(line);
}

function intFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`${name} must be an integer >= ${min}, got ${raw}`);
  return value;
}

async function main(): Promise<void> {
  // Orphaned runtimes would hold ports and CPU: die with the parent that forked us.
  process.on('disconnect', () => {
    log('warn', 'parent IPC channel closed, exiting');
    process.exit(0);
  });

  const stage = process.env.TOLLGATE_STAGE || 'local';
  const container = containerMode(process.env, stage);
  const port = intFromEnv('RUNTIME_PORT', container?.port ?? 0, 0);
  const host = process.env.RUNTIME_HOST || container?.host || '127.0.0.1';
  const logRequests = process.env.RUNTIME_LOG_REQUESTS === '1';
  const options: RuntimeServerOptions = {
    capacity: {
      maxInFlight: intFromEnv('RUNTIME_MAX_IN_FLIGHT', DEFAULT_CAPACITY.maxInFlight, 1),
      maxQueue: intFromEnv('RUNTIME_MAX_QUEUE', DEFAULT_CAPACITY.maxQueue, 0),
    },
    maxQueueWaitMs: intFromEnv('RUNTIME_MAX_QUEUE_WAIT_MS', 10_000, 1),
    maxBatchInFlight: intFromEnv('RUNTIME_MAX_BATCH_IN_FLIGHT', DEFAULT_MAX_BATCH_IN_FLIGHT, 1),
    faults: process.env.RUNTIME_FAULTS === '1',
    onInvocation: (entry) => {
      if (entry.status >= 500) log('error', 'invocation failed', entry);
      else if (entry.status !== 200) log('warn', 'invocation rejected', entry);
      else if (logRequests) log('info', 'invocation', entry);
    },
  };

  const registry = createDefaultRegistry(stage, {
    only: parseModelSelection(container?.version ?? process.env.RUNTIME_MODELS, stage),
    tgiVersions: parseWireVersions(process.env.LLM_WIRE_VERSIONS),
    hooks: {
      onEvent: (event) => {
        if (event.type === 'ready') log('info', 'model ready', event);
        else if (event.type === 'exit') log('error', 'model worker died; restarting', event);
        else log('error', 'model failed to load', event);
      },
    },
  });
  const loadStarted = performance.now();
  await loadRegistry(registry);
  log('info', 'models loaded', {
    endpoints: [...registry.keys()],
    ms: Math.round(performance.now() - loadStarted),
  });
  for (const [name, config] of registry) {
    for (const [variant, handler] of config.variants) {
      const why = handler.unavailable?.();
      if (why) log('warn', 'variant not ready', { endpoint: name, variant, why });
    }
  }

  if (container) options.container = containerTarget(registry);
  const server = createRuntimeServer(registry, options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    log('info', 'shutting down', { signal });
    for (const handler of handlersOf(registry)) void handler.close?.();
    server.close(() => process.exit(0));
    // Keep-alive sockets would hold close() open; a request mid-model gets a short grace period.
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 1_000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  log('info', 'runtime ready', {
    url: `http://${host}:${bound}`,
    port: bound,
    pid: process.pid,
    ...(container ? { container: container.version } : {}),
  });
  process.send?.({ type: 'ready', port: bound });
}

main().catch((error: unknown) => {
  log('error', 'runtime failed to start', { error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
