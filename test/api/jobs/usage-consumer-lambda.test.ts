import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { issueApiKey } from '#shared/auth/issue-api-key';
import { keys } from '#shared/db/keys';
import { tableNames } from '#shared/db/tables';
import { newId } from '#shared/ids';
import { usageEventItem } from '#shared/metering/usage-store';
import { newOwner } from '../../support/accounts';
import { createHarness, type Harness } from '../../support/harness';

/**
 * The usage consumer's Lambda handler as the event source mapping invokes it: what it notes in the
 * shard's checkpoint, which is what the usage API's freshness is read from.
 */
describe('the usage consumer function', () => {
  let h: Harness;
  let handler: typeof import('../../../functions/jobs/usage-consumer-lambda').handler;

  const saved = { ...process.env };

  beforeAll(async () => {
    h = await createHarness();
    // The function reads its configuration when loaded, as in Lambda.
    process.env.STAGE = h.config.STAGE;
    process.env.DYNAMODB_ENDPOINT = inject('dynamoEndpoint');
    process.env.LOG_LEVEL = 'silent';
    ({ handler } = await import('../../../functions/jobs/usage-consumer-lambda'));
  });

  afterAll(() => {
    for (const name of ['STAGE', 'DYNAMODB_ENDPOINT', 'LOG_LEVEL']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it("notes a window's invocation without records as caught up, for that shard", async () => {
    const shardId = `shardId-${newId('req')}`;
    const before = Date.now();
    await expect(handler({ Records: [], shardId })).resolves.toEqual({ state: {} });
    const checkpoint = await h.stores.usageConsumer.checkpoint(shardId);
    expect(checkpoint.caughtUpAt).toBeGreaterThanOrEqual(before);
    expect(checkpoint.seq).toBeUndefined();
  });

  it('notes a failed batch before failing it (the mapping retries), and applies nothing of it', async () => {
    const shardId = `shardId-${newId('req')}`;
    const tenantId = newId('ten');
    // A record the consumer cannot read: a usage event whose units are not a map.
    const bad = {
      eventName: 'INSERT',
      dynamodb: {
        SequenceNumber: '100',
        ApproximateCreationDateTime: Date.now() / 1000,
        NewImage: {
          pk: { S: `TENANT#${tenantId}` },
          sk: { S: 'EVT#x' },
          type: { S: 'usage_event' },
          status: { S: 'succeeded' },
          tenantId: { S: tenantId },
          at: { N: 'not a time' },
          units: { S: 'garbage' },
        },
      },
    };
    const before = Date.now();
    await expect(handler({ Records: [bad], shardId })).rejects.toThrow();
    const checkpoint = await h.stores.usageConsumer.checkpoint(shardId);
    expect(checkpoint.failedAt).toBeGreaterThanOrEqual(before);
    expect(checkpoint.seq).toBeUndefined();
  });

  it("checks the batch's keys against their budgets: the alert recorded once, its email queued for the billing sync", async () => {
    const owner = await newOwner(h);
    const { key } = await issueApiKey(h.stores.apiKeys, {
      tenantId: owner.tenantId,
      name: 'batch-key',
      limits: { spendCapNanoUsd: 1_000, budgetMode: 'alert_only' },
    });
    const at = new Date().toISOString();
    const record = (n: number) => ({
      eventName: 'INSERT',
      dynamodb: {
        SequenceNumber: String(200 + n),
        ApproximateCreationDateTime: Date.now() / 1000,
        NewImage: marshall(
          usageEventItem({
            requestId: newId('req'),
            tenantId: owner.tenantId,
            keyId: key.id,
            model: 'sentiment',
            version: 'v1',
            units: { input_tokens: 2 },
            costNanoUsd: 300,
            priceBook: 'pb_test',
            latencyMs: 5,
            status: 'succeeded',
            at,
          }),
          { removeUndefinedValues: true },
        ),
      },
    });
    const shardId = `shardId-${newId('req')}`;
    // 600 of 1,000 nano-USD: the 50% alert. The same batch again (a retry) raises nothing more.
    await handler({ Records: [record(1), record(2)], shardId });
    await handler({ Records: [record(1), record(2)], shardId });
    const alerts = (await h.stores.alerts.list(owner.tenantId)).filter((a) => a.keyId === key.id);
    expect(alerts.map((a) => [a.threshold, a.used, a.recipients])).toEqual([[50, 600, [owner.email]]]);
    // In AWS the function has no SES client: the email waits in the queue the billing sync sends.
    const queued = await h.stores.dynamo.doc.send(
      new QueryCommand({
        TableName: tableNames(h.config.STAGE).main,
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': keys.queuedEmailPartition() },
      }),
    );
    const mails = (queued.Items ?? []).filter(
      (i) =>
        (i.message as { to: string }).to === owner.email &&
        (i.message as { kind: string }).kind === 'key_budget_alert',
    );
    expect(mails).toHaveLength(1);
    expect((mails[0]!.message as { subject: string }).subject).toContain('“batch-key” is at 50%');
  });

  it('refuses an event that names no shard (the tumbling window is what makes Lambda name it)', async () => {
    await expect(
      handler({ Records: [{ eventName: 'INSERT', dynamodb: { SequenceNumber: '1' } }] }),
    ).rejects.toThrow(/names no shardId/);
  });
});
