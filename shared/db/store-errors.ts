import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isThrottlingError, isTransientError } from '@smithy/core/retry';

/**
 * The store did not answer a call: it could not be reached (connection refused or reset), did not
 * answer in time, failed on its side (5xx) or kept throttling past the client's retries. Nothing
 * about the call was wrong, and the same call may well succeed in a moment: the API answers it as
 * 503 `store_unavailable`, safe to retry. The SDK's own error is the `cause`.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/** An error as the SDK raises it: the shape its own classification reads, and a few more fields. */
type SdkError = Parameters<typeof isTransientError>[0] & {
  code?: string;
  CancellationReasons?: { Code?: string }[];
};

/**
 * Whether an SDK error is the store's failure rather than the caller's: what the SDK itself
 * classifies as throttling or transient (network errors, timeouts, 500-504), and any other 5xx.
 * A failed condition, a validation error, a missing table or an error raised before sending
 * (marshalling) stays as it is: those are the caller's to handle, and a retry would not help.
 */
function isStoreSideFailure(err: SdkError): boolean {
  // The caller's own abort (a client that went away) is not the store's doing.
  if (err.name === 'AbortError') return false;
  return (
    isThrottlingError(err) ||
    isTransientError(err) ||
    err.$fault === 'server' ||
    (err.$metadata?.httpStatusCode ?? 0) >= 500
  );
}

// Why a transaction may be cancelled that is not about its conditions: the store was busy.
const CONTENTION_REASONS = new Set([
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'TransactionConflict',
]);

/**
 * A transaction that contention defeated: cancelled only because its items were throttled or
 * held by other transactions, or refused because another transaction held an item. These stay
 * typed SDK errors on the client (callers such as `transact` retry them by name); whatever their
 * retries give up on is the store's failure too.
 */
function isContention(err: SdkError): boolean {
  if (err.name === 'TransactionConflictException') return true;
  if (err.name !== 'TransactionCanceledException') return false;
  const codes = (err.CancellationReasons ?? []).map((r) => r.Code).filter((c) => c && c !== 'None');
  return codes.length > 0 && codes.every((c) => CONTENTION_REASONS.has(c!));
}

function summary(err: SdkError): string {
  return `${err.name}${err.code && err.code !== err.name ? ` (${err.code})` : ''}: ${err.message}`;
}

/**
 * `err` as a `StoreUnavailableError` when it is one or is the store's failure (including a
 * transaction that contention cancelled past its caller's retries); undefined for anything else,
 * which stays the caller's error (or a bug).
 */
export function asStoreUnavailable(err: unknown): StoreUnavailableError | undefined {
  if (err instanceof StoreUnavailableError) return err;
  if (!(err instanceof Error)) return undefined;
  const e = err as SdkError;
  if (!isStoreSideFailure(e) && !isContention(e)) return undefined;
  return new StoreUnavailableError(`The store did not answer: ${summary(e)}`, { cause: err });
}

/**
 * Makes every call through `client` (and the document client built on it, which shares its
 * middleware stack) fail with one `StoreUnavailableError` when the store itself failed, after the
 * SDK's retries: repositories and routes need not know the SDK's many shapes of "down"
 * (`ECONNREFUSED`, `socket hang up`, `TimeoutError`, `ThrottlingException`, a 503, ...). Errors
 * that mean something to their callers (a failed condition, a cancelled transaction, a validation
 * error) pass through untouched.
 */
export function raiseStoreUnavailable(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (!(err instanceof Error) || !isStoreSideFailure(err as SdkError)) throw err;
        throw new StoreUnavailableError(
          `The store did not answer ${context.commandName ?? 'a call'}: ${summary(err as SdkError)}`,
          { cause: err },
        );
      }
    },
    // The outermost step: the error as the SDK's retries left it, once per call.
    { step: 'initialize', priority: 'high', name: 'storeUnavailable' },
  );
}
