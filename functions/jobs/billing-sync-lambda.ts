import { loadConfig } from '../../shared/config';
import { tableNames } from '../../shared/db/tables';
import { sendQueuedEmails } from '../../shared/email/email-queue';
import { createLogger } from '../../shared/logger';
import { createBillingPlaneDeps } from '../api/wiring/billing-deps';
import { sesEmail } from '../api/wiring/edges/email';
import { environmentWithSecrets } from '../secrets';
import { billingSync } from './billing-sync';

// Built once per Lambda instance; every scheduled invocation reuses the clients. Stripe's keys
// come from the Stripe secret, read here once. The billing plane's wiring, with SES: this job
// sends its own notices and the ones the billing plane queued.
const config = loadConfig(await environmentWithSecrets(process.env));
const log = createLogger(config.LOG_LEVEL);
const email = sesEmail(config);
const { billing, stores } = createBillingPlaneDeps(config, log, { email });
const mainTable = tableNames(config.STAGE).main;

/** Sends what the billing plane queued; a failure here is logged, never the run's result. */
const sendQueued = () =>
  sendQueuedEmails(stores.dynamo.doc, mainTable, email, log).catch((err: unknown) => {
    log.error({ err }, 'queued emails not sent; kept for the next run');
    return { sent: 0, failed: 0, dropped: 0 };
  });

/**
 * Kept back from the invocation's remaining time: the log line, the answer, and a DynamoDB write
 * slower than usual. Stripe calls still unanswered at the deadline are left (the window is resent
 * next run under the same identifiers), so no Stripe timeout has to fit in here.
 */
export const DEADLINE_MARGIN_MS = 10_000;

/** What the handler reads of Lambda's context. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/**
 * The EventBridge schedule's target: one billing run (a stretch of the meter sync's walk, and the
 * grace clock) that ends before the invocation's time is up, and the queued notices, sent beside
 * it and even when the sync fails (its error still fails the run). A run that stops before the
 * walk's end says where (`cursor`); the next run resumes there.
 */
export async function handler(
  _event: unknown,
  context: InvocationContext,
): Promise<{
  windows: number;
  events: number;
  complete: boolean;
  stopped: string | null;
  cursor: string;
  emails: number;
}> {
  const deadlineMs = Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS;
  const [run, emails] = await Promise.all([
    billingSync(billing, new Date(), { deadlineMs }).then(
      (r) => ({ ok: true as const, r }),
      (err: unknown) => ({ ok: false as const, err }),
    ),
    sendQueued(),
  ]);
  if (!run.ok) throw run.err;
  const result = run.r;
  log.info(
    {
      tenants: result.tenants,
      windows: result.windows,
      events: result.events,
      complete: result.complete,
      stopped: result.stopped,
      cursor: result.cursor,
      lagMinutes: Math.round(result.lagMinutes),
      problems: result.problems.length,
      suspended: result.suspended.length,
      emails,
    },
    'billing sync',
  );
  return {
    windows: result.windows,
    events: result.events,
    complete: result.complete,
    stopped: result.stopped,
    cursor: result.cursor,
    emails: emails.sent,
  };
}
