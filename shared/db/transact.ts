import {
  type AttributeValue,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient, TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

const MAX_CONFLICT_ATTEMPTS = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Why a transaction was cancelled, item by item (aligned with the items sent). */
export interface CancelledTransaction {
  reasons: { Code?: string; Item?: Record<string, unknown> }[];
}

const MARSHALL = { removeUndefinedValues: true } as const;
const toAttributes = (m: Record<string, unknown> | undefined) => (m ? marshall(m, MARSHALL) : undefined);

/**
 * The items in DynamoDB's own attribute format, as the document client would send them (same
 * options: undefined values removed). Marshalled here, once per item, and sent as the low-level
 * command through the same client and middleware: the document client's generic walk over every
 * field of the input costs about a seventh of the settlement call's allocations.
 */
function toWire(items: TransactItem[]): TransactWriteItem[] {
  return items.map((item) => {
    if (item.Put) {
      const { Item, ExpressionAttributeValues, ...rest } = item.Put;
      return {
        Put: {
          ...rest,
          Item: toAttributes(Item) ?? {},
          ExpressionAttributeValues: toAttributes(ExpressionAttributeValues),
        },
      };
    }
    const [kind, op] = item.Update
      ? (['Update', item.Update] as const)
      : item.Delete
        ? (['Delete', item.Delete] as const)
        : (['ConditionCheck', item.ConditionCheck] as const);
    if (!op) throw new TypeError('a transaction item needs Put, Update, Delete or ConditionCheck');
    const { Key, ExpressionAttributeValues, ...rest } = op;
    return {
      [kind]: {
        ...rest,
        Key: toAttributes(Key) ?? {},
        ExpressionAttributeValues: toAttributes(ExpressionAttributeValues),
      },
    } as TransactWriteItem;
  });
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
  const wire = toWire(items);
  for (let attempt = 1; ; attempt++) {
    try {
      await doc.send(new TransactWriteItemsCommand({ TransactItems: wire }));
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
