import { existsSync, readFileSync } from 'node:fs';
import { createDataPlaneDeps } from '../functions/api/wiring/data-deps';
import { batchParts } from '../functions/api/wiring/edges/batch';
import { createStores } from '../functions/api/wiring/stores';
import { pollBatchQueue } from '../functions/jobs/batch-poller';
import { createBatchWorker } from '../functions/jobs/batch-worker';
import { DynamoWorkQueue } from '../shared/batch/work-queue';
import { loadConfig } from '../shared/config';
import { OutboxEmailSender } from '../shared/email/outbox-sender';
import { createLogger } from '../shared/logger';
import { localStateFile } from './stack';

/**
 * `npm run batch:worker`: one more batch worker process beside a running `npm start` (or the one
 * worker, when the stack was started without its own): it works the batch queue in DynamoDB as
 * the worker function works SQS in AWS. Without DYNAMODB_ENDPOINT, SAGEMAKER_ENDPOINT and
 * S3_ENDPOINT it finds them in the on-disk stack's `${DATA_DIR}/local.json`.
 */
if (process.argv.includes('--help')) {
  console.log(
    'usage: npm run batch:worker\n' +
      '  A batch worker process beside a running npm start: it takes chunks of batches off the queue\n' +
      '  kept in DynamoDB and runs their lines, as the worker function does for SQS in AWS. It finds the\n' +
      '  stack through DATA_DIR/local.json (.data by default), or DYNAMODB_ENDPOINT, SAGEMAKER_ENDPOINT and S3_ENDPOINT.\n' +
      '  BATCH_WORKER_CONCURRENCY sets the lines it runs at once. Stop it with Ctrl-C.',
  );
  process.exit(0);
}
const env = { ...process.env };
if (!env.DYNAMODB_ENDPOINT) {
  const state = localStateFile(env.DATA_DIR || '.data');
  if (!existsSync(state)) {
    process.stderr.write(
      `No running on-disk stack (${state}); start one with npm start, or set DYNAMODB_ENDPOINT, SAGEMAKER_ENDPOINT and S3_ENDPOINT.\n`,
    );
    process.exit(1);
  }
  const local = JSON.parse(readFileSync(state, 'utf8')) as Record<string, string>;
  env.DYNAMODB_ENDPOINT = local.dynamoEndpoint;
  env.SAGEMAKER_ENDPOINT ??= local.runtimeUrl;
  env.S3_ENDPOINT ??= local.s3Endpoint;
  env.STAGE ??= local.stage;
}
const config = loadConfig(env);
const log = createLogger(config.LOG_LEVEL);
const stores = createStores(config);
const batch = batchParts(config, stores);
if (!(batch.queue instanceof DynamoWorkQueue)) {
  process.stderr.write(
    'BATCH_QUEUE_URL is set: in AWS the worker function reads SQS; this process works the local queue only.\n',
  );
  process.exit(1);
}
// Usage alerts a line may trigger are printed, as `npm start` prints its emails.
const email = new OutboxEmailSender({
  onSend: (m) => process.stdout.write(`email #${m.id} (${m.kind}) to ${m.to}\n`),
});
const worker = createBatchWorker({ data: createDataPlaneDeps(config, log, { stores, email }), batch });
const poller = pollBatchQueue(worker, batch.queue, {
  pollMs: config.BATCH_POLL_MS,
  sweepMs: config.BATCH_POLL_MS * 10,
  log,
});
log.info({ pid: process.pid }, 'batch worker started');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void poller.stop().then(() => process.exit(0));
  });
}
