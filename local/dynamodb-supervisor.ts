import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../shared/logger';
import { type EmbeddedDynamo, startEmbeddedDynamo } from './dynamodb';

/**
 * `up`: answering, with its tables and seed. `down`: the process died and is not back yet (calls
 * fail to connect). `recovering`: a new process is starting and being set up: it may answer
 * before its tables and seed are there (in memory, a restart starts empty).
 */
export type DynamoState = 'up' | 'down' | 'recovering';

export interface SupervisedDynamo {
  /** Stable across restarts: the store comes back on the same port, so every client's endpoint holds. */
  endpoint: string;
  port: number;
  /** Folder of the data files (kept across restarts); null when in memory. */
  dataPath: string | null;
  /** The current java process's pid (changes with each restart). */
  pid(): number;
  /** How many times the process was restarted after it died. */
  restarts(): number;
  state(): DynamoState;
  /** Stops the process and the supervision. Safe to call twice. */
  stop(): Promise<void>;
}

export interface DynamoSupervisorOptions {
  dataDir?: string | null;
  /**
   * Runs after each restart, before the store counts as up again: makes the tables and reapplies
   * the seed (a no-op on disk, where both survived). A failure counts as a failed restart.
   */
  afterRestart?: () => Promise<void>;
  /** First back-off before a restart; doubled per consecutive failure. Default 250 ms. */
  initialBackoffMs?: number;
  /** Longest back-off. Default 10 s. */
  maxBackoffMs?: number;
  /** A process that stayed up this long resets the back-off. Default 30 s. */
  stableAfterMs?: number;
}

/**
 * Runs DynamoDB Local and restarts it when it dies (a crash, an OOM kill, a stray SIGKILL), on
 * the same port and data folder, as the runtime supervisor does for the model runtime. Requests
 * meanwhile are the API's 503 `store_unavailable` (safe to retry); restarts back off
 * exponentially rather than spin on a store that cannot start.
 */
export async function superviseDynamo(
  options: DynamoSupervisorOptions,
  log: Logger,
): Promise<SupervisedDynamo> {
  const initialBackoff = options.initialBackoffMs ?? 250;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
  const stableAfter = options.stableAfterMs ?? 30_000;
  let current: Pick<EmbeddedDynamo, 'pid' | 'exited' | 'stop'> = await startEmbeddedDynamo({
    dataDir: options.dataDir,
  });
  const { endpoint, port, dataPath } = current as EmbeddedDynamo;
  let state: DynamoState = 'up';
  let stopping = false;
  const stopped = new AbortController();
  let restarts = 0;
  let failures = 0;

  const watch = async () => {
    while (!stopping) {
      const startedAt = Date.now();
      const { code, signal } = await current.exited;
      if (stopping) return;
      state = 'down';
      failures = Date.now() - startedAt >= stableAfter ? 1 : failures + 1;
      const backoff = Math.min(maxBackoff, initialBackoff * 2 ** (failures - 1));
      log.warn(
        { code, signal, pid: current.pid, backoffMs: backoff },
        'DynamoDB Local exited; restarting it',
      );
      await sleep(backoff, undefined, { signal: stopped.signal }).catch(() => {});
      if (stopping) return;
      const previous = current.pid;
      state = 'recovering';
      try {
        const next = await startEmbeddedDynamo({ dataDir: options.dataDir, port });
        current = next;
        if (stopping) return await next.stop();
        await options.afterRestart?.();
        state = 'up';
        restarts++;
        log.warn({ pid: next.pid, restarts, dataPath }, 'DynamoDB Local restarted');
      } catch (err) {
        // Could not start (the port still held) or not set up again: stop what started (its exit
        // is the next turn of the loop), or try again after a longer wait.
        log.error({ err }, 'DynamoDB Local did not restart; retrying');
        state = 'down';
        if (current.pid !== previous) await current.stop();
        else current = { ...current, exited: Promise.resolve({ code: null, signal: null }) };
      }
    }
  };
  const watching = watch();

  return {
    endpoint,
    port,
    dataPath,
    pid: () => current.pid,
    restarts: () => restarts,
    state: () => state,
    async stop() {
      stopping = true;
      stopped.abort();
      await current.stop();
      await watching;
    },
  };
}
