import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { newId } from '../../shared/ids';
import type { UsageEvent } from '../../shared/metering/usage-store';
import type { EffectiveLimits } from '../../shared/quotas/plans';
import type { ReservationRequest } from '../../shared/quotas/quota-store';
import type { Harness } from './harness';

/**
 * A clock held still, half a minute into a minute window. In the future: DynamoDB Local purges
 * items whose TTL has passed within about a second, and a lease or counter dated in the past would
 * vanish under a running test (its TTL is a day past its expiry, in production never reached).
 */
export const NOW = new Date('2036-05-10T12:00:30.000Z');

/** `NOW`'s day, as the usage reports name days. */
export const TODAY = NOW.toISOString().slice(0, 10);

/** Effective limits with only what a test sets: the tenant's, and the key's own. */
export function limitsOf(
  tenant: Partial<EffectiveLimits['tenant']>,
  key: EffectiveLimits['key'] = {},
): EffectiveLimits {
  return { tenant: { monthlyUnits: {}, ...tenant }, key, included: {} };
}

/** How long a test request's reservation lives past its admission. */
export const TTL_MS = 60_000;

/** A request asking for 10 tokens and $0.000001 at `NOW`, for key `key_a`. */
export function quotaRequest(
  tenantId: string,
  limits: EffectiveLimits,
  over: Partial<ReservationRequest> = {},
): ReservationRequest {
  return {
    tenantId,
    keyId: 'key_a',
    // Ids carry their time, as in production (a lease's records are found by it).
    requestId: newId('req', (over.now ?? NOW).getTime()),
    now: NOW,
    limits,
    tokens: 10,
    units: { input_tokens: 10 },
    costNanoUsd: 1_000,
    ttlMs: TTL_MS,
    ...over,
  };
}

/** A succeeded sentiment call's usage event: `tokens` input tokens at 100 nano-USD each. */
export function usageEvent(
  tenantId: string,
  requestId: string,
  tokens: number,
  over: Partial<UsageEvent> = {},
): UsageEvent {
  return {
    requestId,
    tenantId,
    keyId: 'key_a',
    model: 'sentiment',
    version: 'v1',
    units: { input_tokens: tokens },
    costNanoUsd: tokens * 100,
    priceBook: 'pb',
    latencyMs: 1,
    status: 'succeeded',
    at: NOW.toISOString(),
    ...over,
  };
}

/** One item, read consistently. */
export async function readItem(h: Harness, table: string, key: { pk: string; sk: string }) {
  return (
    await h.stores.dynamo.doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))
  ).Item;
}
