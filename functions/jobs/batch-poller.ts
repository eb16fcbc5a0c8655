import type { DynamoWorkQueue } from '#shared/batch/work-queue';
import type { Logger } from '#shared/logger';
import type { BatchWorker } from './batch-worker';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The local runs' stand-in for the worker function's SQS event source: takes one message at a
 * time off the main table's queue, works it, and deletes it; a message whose work failed (or whose
 * worker died) is handed out again after the visibility timeout. The sweep runs every `sweepMs`.
 */
export function pollBatchQueue(
  worker: BatchWorker,
  queue: DynamoWorkQueue,
  opts: { pollMs: number; sweepMs: number; lanes?: number; log: Logger },
): { stop(): Promise<void> } {
  let stopped = false;
  const lane = async () => {
    while (!stopped) {
      const got = await queue.receive(1).catch((err: unknown) => {
        opts.log.warn({ err }, 'batch queue not read; retrying');
        return [];
      });
      if (got.length === 0) {
        await sleep(opts.pollMs);
        continue;
      }
      for (const m of got) {
        try {
          await worker.handle(m.body, m.receives);
          await queue.delete(m);
        } catch (err) {
          opts.log.warn({ err, batchId: m.body.batchId }, 'batch work failed; the queue hands it out again');
        }
      }
    }
  };
  const lanes = Array.from({ length: opts.lanes ?? 1 }, lane);
  const sweep = async () => {
    while (!stopped) {
      await worker.sweep().catch((err: unknown) => opts.log.warn({ err }, 'batch sweep failed'));
      for (let waited = 0; waited < opts.sweepMs && !stopped; waited += opts.pollMs) await sleep(opts.pollMs);
    }
  };
  const sweeper = sweep();
  return {
    async stop() {
      stopped = true;
      await Promise.all([...lanes, sweeper]);
    },
  };
}
