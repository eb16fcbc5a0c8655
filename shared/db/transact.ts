import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

const MAX_CONFLICT_ATTEMPTS = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Why a transaction was cancelled, item by item (aligned with the items sent). */
export interface CancelledTransaction {
  reasons: { Code?: string; Item?: Record<string, unknown> }[];
}

function reasonsOf(err: unknown): CancelledTransaction['reasons'] | undefined {
  const e = err as Error & {
    CancellationReasons?: { Code?: string; Item?: Record<string, AttributeValue> }[];
  };
  if (e.name !== 'TransactionCanceledException') return undefined;
  // The document client does not unmarshall items inside errors; do it here, once.
  return (e.CancellationReasons ?? []).map((r) => ({
    Code: r.Code,
    Item: r.Item ? unmarshall(r.Item) : undefined,
  }));
}

// A transaction is cancelled, not failed with a throttling error, when one of its items is
// throttled: the SDK does not retry a cancellation, so those are retried here with the conflicts.
const RETRYABLE_REASONS = new Set([
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
]);

function isRetryable(err: unknown): boolean {
  if ((err as Error).name === 'TransactionConflictException') return true;
  return (reasonsOf(err) ?? []).some((r) => r.Code !== undefined && RETRYABLE_REASONS.has(r.Code));
}

/**
 * Runs one transaction. DynamoDB cancels transactions that touch an item another transaction
 * holds (hot counters and aggregates do) or that is throttled; those are retried with jittered
 * back-off, a bounded number of times (each send also has the client's own retries for
 * throttling errors and timeouts: see `createDynamo`). A cancellation by a failed condition is returned, not thrown: callers decide
 * what each failed condition means.
 */
export async function transact(
  doc: DynamoDBDocumentClient,
  items: TransactItem[],
): Promise<{ ok: true } | ({ ok: false } & CancelledTransaction)> {
  for (let attempt = 1; ; attempt++) {
    try {
      await doc.send(new TransactWriteCommand({ TransactItems: items }));
      return { ok: true };
    } catch (err) {
      if (isRetryable(err) && attempt < MAX_CONFLICT_ATTEMPTS) {
        await sleep(Math.random() * Math.min(5 * 2 ** attempt, 200));
        continue;
      }
      const reasons = reasonsOf(err);
      if (reasons?.some((r) => r.Code === 'ConditionalCheckFailed')) return { ok: false, reasons };
      throw err;
    }
  }
}
