import { type ChildProcess, fork } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export type RuntimeProcessOptions = {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Extra env for the child, e.g. RUNTIME_MAX_IN_FLIGHT / RUNTIME_MAX_QUEUE. */
  env?: Record<string, string>;
  /** Every stdout/stderr line of the child. Without it the lines are dropped (the stderr tail is kept). */
  onLog?: (line: string) => void;
  /** How long model loading plus listen may take. Default 30 s. */
  readyTimeoutMs?: number;
  /**
   * Also wait until every hosted model answers (`/ping` is 200), not only until the runtime listens:
   * worker-thread models load in the background. Bounded by `readyTimeoutMs` (default 120 s then).
   */
  waitForModels?: boolean;
};

export type RuntimeProcess = {
  /** Base URL for the SageMaker Runtime client's `endpoint`. */
  url: string;
  port: number;
  pid: number;
  /** SIGTERM, then SIGKILL after 3 s; resolves once the child has exited. Safe to call twice. */
  stop(): Promise<void>;
  /** Resolves when the child exits, for whatever reason (a supervisor restarts it on an unexpected exit). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
// `--import tsx` resolves from the child's cwd, so run it from the repo root wherever the caller is.
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STDERR_TAIL_LINES = 40;
const KILL_AFTER_MS = 3_000;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

// One hook for all children, so starting many runtimes in a process adds no listeners per start.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Forks the local model runtime (`main.ts` under tsx) and resolves once it listens (and, if asked, once its models are loaded). */
export async function startRuntimeProcess(options: RuntimeProcessOptions = {}): Promise<RuntimeProcess> {
  const started = performance.now();
  const runtime = await forkRuntime(options);
  if (!options.waitForModels) return runtime;
  const timeoutMs = options.readyTimeoutMs ?? 120_000;
  let last = '';
  while (performance.now() - started < timeoutMs) {
    try {
      const res = await fetch(`${runtime.url}/ping`, { signal: AbortSignal.timeout(2_000) });
      last = await res.text();
      if (res.ok) return runtime;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await runtime.stop();
  throw new Error(`local runtime models were not ready within ${timeoutMs} ms: ${last}`);
}

function forkRuntime(options: RuntimeProcessOptions): Promise<RuntimeProcess> {
  const host = options.host ?? '127.0.0.1';
  installExitHook();
  const child = fork(MAIN, [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      RUNTIME_PORT: String(options.port ?? 0),
      RUNTIME_HOST: host,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  live.add(child);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  void exited.then(() => live.delete(child));

  const stderrTail: string[] = [];
  // Always drain both pipes: a full pipe would block the child's logging and then the child itself.
  if (child.stdout) createInterface({ input: child.stdout }).on('line', (line) => options.onLog?.(line));
  if (child.stderr) {
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      options.onLog?.(line);
    });
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };

  return new Promise<RuntimeProcess>((resolve, reject) => {
    const fail = (reason: string) => {
      cleanup();
      const tail = stderrTail.join('\n');
      void stop().then(() =>
        reject(new Error(`local runtime ${reason}${tail ? `\n--- stderr tail ---\n${tail}` : ''}`)),
      );
    };
    const onMessage = (message: unknown) => {
      if (typeof message !== 'object' || message === null) return;
      const { type, port } = message as { type?: unknown; port?: unknown };
      if (type !== 'ready' || typeof port !== 'number') return;
      cleanup();
      const urlHost =
        host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
      resolve({ url: `http://${urlHost}:${port}`, port, pid: child.pid ?? -1, stop, exited });
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      fail(`exited before it was ready (code ${code}, signal ${signal})`);
    const onError = (error: Error) => fail(`could not be started: ${error.message}`);
    // Listening takes a few seconds; on a loaded 2-core machine (tests starting several stacks)
    // it has taken over 30 s, so the bound is generous: it only turns a hang into an error.
    const listenTimeoutMs = options.readyTimeoutMs ?? 90_000;
    const timer = setTimeout(() => fail(`was not ready within ${listenTimeoutMs} ms`), listenTimeoutMs);
    function cleanup(): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}
