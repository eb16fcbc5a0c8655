/**
 * Writes whose condition may fail. A single write (Put, Update, Delete) whose ConditionExpression
 * does not hold fails with `ConditionalCheckFailedException`; a transaction fails whole with
 * `TransactionCanceledException`, whatever stopped it (a condition, or another transaction holding
 * one of its items: see transact.ts for one that retries those). Both are an answer, not a fault:
 * the store did what was asked, and said no.
 */

function nameOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
}

/** Whether a single write failed because its condition did not hold. */
export function isConditionalFailure(err: unknown): boolean {
  return nameOf(err) === 'ConditionalCheckFailedException';
}

/** Whether a transaction was cancelled (by one of its conditions, or a conflict). */
export function isCancelledTransaction(err: unknown): boolean {
  return nameOf(err) === 'TransactionCanceledException';
}

/**
 * What `write` gives, or what `onRefused` gives when the store refused it: a failed condition of a
 * single write, or a cancelled transaction. Any other error is thrown as it was.
 */
export async function ifConditionFails<T, F>(
  write: Promise<T>,
  onRefused: () => F | Promise<F>,
): Promise<T | F> {
  try {
    return await write;
  } catch (err) {
    if (isConditionalFailure(err) || isCancelledTransaction(err)) return onRefused();
    throw err;
  }
}

/** Whether `write` went through: false when the store refused it (see `ifConditionFails`). */
export function conditionHeld(write: Promise<unknown>): Promise<boolean> {
  return ifConditionFails(
    write.then(() => true),
    () => false,
  );
}
