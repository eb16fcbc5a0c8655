import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../shared/logger';
import { type RuntimeProcess, type RuntimeProcessOptions, startRuntimeProcess } from './launcher';

export interface SupervisedRuntime {
  /** Stable across restarts: the runtime comes back on the same port, so the gateway's endpoint holds. */
  url: string;
  port: number;
  /** The current child's pid (changes with each restart). */
  pid(): number;
  /** How many times the child was restarted after it died. */
  restarts(): number;
  /** Stops the child and the supervision. Safe to call twice. */
  stop(): Promise<void>;
}

export interface SupervisorOptions {
  /** First back-off before a restart; doubled per consecutive failure. Default 250 ms. */
  initialBackoffMs?: number;
  /** Longest back-off. Default 10 s. */
  maxBackoffMs?: number;
  /** A child that stayed up this long resets the back-off. Default 30 s. */
  stableAfterMs?: number;
}

/**
 * Runs the local model runtime and restarts it when it dies (a crash, an OOM kill, a stray
 * SIGKILL), as SageMaker replaces a failed instance. Requests in flight when it died fail as the
 * gateway's 502 `model_unavailable` (not billed, their reservations released); requests during
 * the restart fail the same way, so restarts back off exponentially rather than spin on a runtime
 * that cannot start.
 */
export async function superviseRuntime(
  options: RuntimeProcessOptions,
  log: Logger,
  supervision: SupervisorOptions = {},
): Promise<SupervisedRuntime> {
  const initialBackoff = supervision.initialBackoffMs ?? 250;
  const maxBackoff = supervision.maxBackoffMs ?? 10_000;
  const stableAfter = supervision.stableAfterMs ?? 30_000;
  let current: RuntimeProcess = await startRuntimeProcess(options);
  const port = current.port;
  let stopping = false;
  const stopped = new AbortController();
  let restarts = 0;
  let failures = 0;

  const watch = async () => {
    while (!stopping) {
      const startedAt = Date.now();
      const { code, signal } = await current.exited;
      if (stopping) return;
      failures = Date.now() - startedAt >= stableAfter ? 1 : failures + 1;
      const backoff = Math.min(maxBackoff, initialBackoff * 2 ** (failures - 1));
      log.warn({ code, signal, pid: current.pid, backoffMs: backoff }, 'model runtime exited; restarting it');
      await sleep(backoff, undefined, { signal: stopped.signal }).catch(() => {});
      if (stopping) return;
      try {
        current = await startRuntimeProcess({ ...options, port });
        if (stopping) return await current.stop();
        restarts++;
        log.warn({ pid: current.pid, restarts }, 'model runtime restarted');
      } catch (err) {
        // Could not start (port still held, a model that fails to load): try again after a longer wait.
        log.error({ err }, 'model runtime did not restart; retrying');
        current = { ...current, exited: Promise.resolve({ code: null, signal: null }) };
      }
    }
  };
  const watching = watch();

  return {
    url: current.url,
    port,
    pid: () => current.pid,
    restarts: () => restarts,
    async stop() {
      stopping = true;
      stopped.abort();
      await current.stop();
      await watching;
    },
  };
}
