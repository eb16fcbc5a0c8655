import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { newId } from '#shared/ids';
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

  it('refuses an event that names no shard (the tumbling window is what makes Lambda name it)', async () => {
    await expect(
      handler({ Records: [{ eventName: 'INSERT', dynamodb: { SequenceNumber: '1' } }] }),
    ).rejects.toThrow(/names no shardId/);
  });
});
