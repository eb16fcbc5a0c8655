/**
 * What every provider call answers (the billing port in `billing.ts`, the finance port in
 * `shared/finance/finance-gateway.ts`): a value, or why it failed. None throws for provider failures.
 */

/** Why a provider call failed, as far as the caller needs to decide what to do next. */
export type GatewayFailure =
  /** No provider is configured (ledger-only mode). */
  | { kind: 'not_connected' }
  /** Rate limited: try again after `retryAfterMs` (or a back-off of the caller's choosing). */
  | { kind: 'throttled'; retryAfterMs?: number }
  /** The provider could not be reached, timed out or failed (5xx): may be retried as is. */
  | { kind: 'unavailable'; message: string }
  /** The provider refused the request (4xx): retrying the same request will not help. */
  | { kind: 'rejected'; message: string; code?: string; declineCode?: string; paymentIntentId?: string };

export type GatewayResult<T> = ({ ok: true } & T) | ({ ok: false } & GatewayFailure);
