import { createDataPlaneDeps } from '#api/wiring/data-deps';
import { batchParts } from '#api/wiring/edges/batch';
import { createStores } from '#api/wiring/stores';
import type { WorkMessage } from '#shared/batch/types';
import { loadConfig } from '#shared/config';
import { createLogger } from '#shared/logger';
import { environmentWithSecrets } from '../secrets';
import { createBatchWorker } from './batch-worker';

// Built once per Lambda instance: the data plane's deps (routes, gateway, SageMaker, metering), so
// a line is served exactly as an online call is, and batch's own S3 and SQS clients.
const config = loadConfig(await environmentWithSecrets(process.env));
const log = createLogger(config.LOG_LEVEL);
const stores = createStores(config);
const worker = createBatchWorker({
  data: createDataPlaneDeps(config, log, { stores }),
  batch: batchParts(config, stores),
});

interface SqsRecord {
  messageId: string;
  body: string;
  attributes?: { ApproximateReceiveCount?: string };
}

/**
 * Two triggers. The work queue (SQS, batch size 1, ReportBatchItemFailures): each record is one
 * chunk of a batch; a failed record is delivered again after the visibility timeout (and after 5
 * receives lands in the dead-letter queue). The schedule (EventBridge, every minute): the sweep.
 */
export async function handler(
  event: { Records?: SqsRecord[] },
  context?: { getRemainingTimeInMillis(): number },
): Promise<{ batchItemFailures: { itemIdentifier: string }[] } | { finalized: number; requeued: number }> {
  if (!event.Records) return worker.sweep();
  const batchItemFailures: { itemIdentifier: string }[] = [];
  // Lines stop starting while there is time to end them: the rest of the chunk comes back.
  const deadline = Date.now() + (context?.getRemainingTimeInMillis() ?? 900_000);
  for (const record of event.Records) {
    try {
      const message = JSON.parse(record.body) as WorkMessage;
      await worker.handle(message, Number(record.attributes?.ApproximateReceiveCount ?? 1), deadline);
    } catch (err) {
      log.warn({ err, messageId: record.messageId }, 'batch work failed; the queue delivers it again');
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
