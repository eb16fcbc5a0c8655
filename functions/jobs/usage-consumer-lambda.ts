import { UserStore } from '../../shared/accounts/user-store';
import { ApiKeyStore } from '../../shared/auth/api-key-store';
import { loadConfig } from '../../shared/config';
import { createDynamo } from '../../shared/db/client';
import { tableNames } from '../../shared/db/tables';
import { QueuedEmailSender } from '../../shared/email/email-queue';
import { createLogger } from '../../shared/logger';
import { UsageConsumer, type UsageStreamRecord } from '../../shared/metering/usage-consumer';
import { ProjectStore } from '../../shared/projects/project-store';
import { AlertStore } from '../../shared/quotas/alerts';
import { KeyBudgetAlerts } from '../../shared/quotas/key-budgets';
import { ProjectBudgetAlerts } from '../../shared/quotas/project-budgets';
import { TenantStore } from '../../shared/tenants/tenant-store';

// Only the consumer and the key and project budget alerts it checks after each batch: the API's
// composition root would bring Stripe, SES and every other store into a bundle that runs for every
// batch of usage records. The alerts' emails are queued in the main table (no SES client here); the billing
// sync job sends them.
const config = loadConfig(process.env);
const doc = createDynamo({ region: config.AWS_REGION, endpoint: config.DYNAMODB_ENDPOINT }).doc;
const names = tableNames(config.STAGE);
const consumer = new UsageConsumer(doc, names);
const log = createLogger(config.LOG_LEVEL);
const alerts = new AlertStore(doc, names.main);
const users = new UserStore(doc, names.main);
const tenants = new TenantStore(doc, names.main);
const email = new QueuedEmailSender(doc, names.main);
const keyBudgets = new KeyBudgetAlerts(
  doc,
  names.usage,
  alerts,
  { apiKeys: new ApiKeyStore(doc, names.main), users, tenants },
  email,
  { publicUrl: config.PUBLIC_URL, now: () => new Date(), log, keyCacheMs: config.AUTH_CACHE_TTL_MS },
);
const projectBudgets = new ProjectBudgetAlerts(
  doc,
  names.usage,
  alerts,
  { projects: new ProjectStore(doc, names.main), users, tenants },
  email,
  { publicUrl: config.PUBLIC_URL, now: () => new Date(), log, projectCacheMs: config.AUTH_CACHE_TTL_MS },
);
consumer.afterApply(async (touched, all) => {
  await keyBudgets.afterBatch(touched);
  await projectBudgets.afterBatch(all.projects);
});

/**
 * What the event source mapping hands the function. It runs with a tumbling window, so each event
 * names its stream shard (`shardId`): the consumer's checkpoint is per shard. The window's state is
 * not used (each batch is applied at once); it is passed back empty.
 */
export interface UsageStreamEvent {
  Records: UsageStreamRecord[];
  shardId?: string;
  eventSourceARN?: string;
  isFinalInvokeForWindow?: boolean;
}

/**
 * The usage table's stream consumer: one batch of one shard, applied to the aggregates exactly
 * once (a retried or bisected batch skips what its checkpoint shows was applied). A failure throws:
 * the event source mapping retries, bisects, and past its retries sends the batch to the
 * on-failure destination.
 */
export async function handler(event: UsageStreamEvent): Promise<{ state: Record<string, never> }> {
  if (!event.shardId) {
    if (event.Records.length === 0) return { state: {} };
    throw new Error('usage consumer: the event names no shardId (is the tumbling window set?)');
  }
  const shardId = event.shardId;
  // The window's invocation without records: the shard has nothing newer, so the aggregates are
  // fresh as of now for it.
  if (event.Records.length === 0) {
    await consumer.caughtUp(shardId, new Date());
    return { state: {} };
  }
  try {
    const report = await consumer.apply(shardId, event.Records);
    log.info({ shardId, ...report }, 'usage records applied');
  } catch (err) {
    // Noted so that the freshness keeps counting this shard while the mapping retries it.
    await consumer.failed(shardId, new Date()).catch(() => undefined);
    throw err;
  }
  return { state: {} };
}
