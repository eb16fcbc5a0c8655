import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBillingPlaneDeps } from '#api/wiring/billing-deps';
import { keys } from '#shared/db/keys';
import { tableNames } from '#shared/db/tables';
import { MAX_EMAIL_ATTEMPTS, QueuedEmailSender, sendQueuedEmails } from '#shared/email/email-queue';
import type { EmailMessage } from '#shared/email/email-sender';
import { OutboxEmailSender } from '#shared/email/outbox-sender';
import { createLogger } from '#shared/logger';
import { createHarness, type Harness } from '../../support/harness';

const log = createLogger('silent');
let h: Harness;
let table: string;
beforeAll(async () => {
  h = await createHarness();
  table = tableNames(h.config.STAGE).main;
});

const message = (to: string, n: number): EmailMessage => ({
  to,
  subject: `Notice ${n}`,
  text: `Body ${n}`,
  kind: 'payment_past_due',
});

/** The queued messages addressed to `to` (other tests may share the table). */
async function queuedFor(to: string) {
  const out = await h.stores.dynamo.doc.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.queuedEmailPartition() },
    }),
  );
  return (out.Items ?? []).filter((i) => i.message?.to === to);
}

describe('queued email (the billing plane sends none itself)', () => {
  it("is the billing plane's default: notices wait in the table until the job sends them, oldest first, once", async () => {
    const deps = createBillingPlaneDeps(h.config, log, { stores: h.stores, signingKeys: h.signingKeys });
    expect(deps.billing.email).toBeInstanceOf(QueuedEmailSender);
    const to = `queue-${Date.now()}@example.com`;
    await deps.billing.email.send(message(to, 1));
    await deps.billing.email.send(message(to, 2));
    const waiting = await queuedFor(to);
    expect(waiting.map((i) => i.message.subject)).toEqual(['Notice 1', 'Notice 2']);
    expect(waiting[0]?.ttl).toBeGreaterThan(Date.now() / 1000);

    const outbox = new OutboxEmailSender();
    const first = await sendQueuedEmails(h.stores.dynamo.doc, table, outbox, log);
    expect(first.sent).toBeGreaterThanOrEqual(2);
    // (The outbox lists newest first: sent in the order queued.)
    expect(outbox.list(to).map((m) => [m.subject, m.text, m.kind])).toEqual([
      ['Notice 2', 'Body 2', 'payment_past_due'],
      ['Notice 1', 'Body 1', 'payment_past_due'],
    ]);
    expect(await queuedFor(to)).toEqual([]);
    // A second run sends nothing again.
    await sendQueuedEmails(h.stores.dynamo.doc, table, outbox, log);
    expect(outbox.list(to)).toHaveLength(2);
  });

  it('keeps a message whose send fails for the next run, and drops it after the last attempt', async () => {
    const to = `failing-${Date.now()}@example.com`;
    await new QueuedEmailSender(h.stores.dynamo.doc, table).send(message(to, 1));
    const failing = {
      async send(m: EmailMessage) {
        if (m.to === to) throw new Error('SES said no');
      },
    };
    for (let attempt = 1; attempt < MAX_EMAIL_ATTEMPTS; attempt++) {
      const run = await sendQueuedEmails(h.stores.dynamo.doc, table, failing, log);
      expect(run.failed).toBeGreaterThanOrEqual(1);
      expect((await queuedFor(to)).map((i) => i.attempts)).toEqual([attempt]);
    }
    const last = await sendQueuedEmails(h.stores.dynamo.doc, table, failing, log);
    expect(last.dropped).toBeGreaterThanOrEqual(1);
    expect(await queuedFor(to)).toEqual([]);

    // Recovering within its attempts: sent once, then gone.
    const flaky = `flaky-${Date.now()}@example.com`;
    await new QueuedEmailSender(h.stores.dynamo.doc, table).send(message(flaky, 1));
    let fail = true;
    const outbox = new OutboxEmailSender();
    const sometimes = {
      async send(m: EmailMessage) {
        if (m.to === flaky && fail) {
          fail = false;
          throw new Error('throttled');
        }
        await outbox.send(m);
      },
    };
    await sendQueuedEmails(h.stores.dynamo.doc, table, sometimes, log);
    expect(outbox.list(flaky)).toHaveLength(0);
    await sendQueuedEmails(h.stores.dynamo.doc, table, sometimes, log);
    expect(outbox.list(flaky)).toHaveLength(1);
    expect(await queuedFor(flaky)).toEqual([]);
  });
});
