import type { BatchDeps } from '#shared/batch/batch-deps';
import { BatchStore } from '#shared/batch/batch-store';
import { S3ObjectStorage } from '#shared/batch/object-storage';
import { DynamoWorkQueue, SqsWorkQueue } from '#shared/batch/work-queue';
import type { Config } from '#shared/config';
import { tableNames } from '#shared/db/tables';
import type { Stores } from '../stores';

/**
 * Batch files in S3 (the local S3-compatible server when S3_ENDPOINT is set) and the work queue:
 * SQS when BATCH_QUEUE_URL is set, else the queue kept in the main table (local runs).
 */
export function batchParts(
  config: Config,
  stores: Stores,
  overrides: Partial<Pick<BatchDeps, 'storage' | 'queue'>> = {},
): BatchDeps {
  return {
    // Made here, not among the stores every plane builds: only the batch plane and worker read it.
    store: new BatchStore(stores.dynamo.doc, tableNames(config.STAGE).main),
    storage:
      overrides.storage ??
      new S3ObjectStorage({
        bucket: config.BATCH_BUCKET,
        region: config.AWS_REGION,
        endpoint: config.S3_ENDPOINT,
      }),
    queue:
      overrides.queue ??
      (config.BATCH_QUEUE_URL
        ? new SqsWorkQueue(config.BATCH_QUEUE_URL, config.AWS_REGION)
        : new DynamoWorkQueue(stores.dynamo.doc, tableNames(config.STAGE).main, 'batch-work', {
            visibilityMs: config.BATCH_VISIBILITY_MS,
            maxReceives: 5,
          })),
  };
}
