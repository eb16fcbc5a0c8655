import type { BillingUnit } from '../catalog/types';
import type { Units } from '../metering/pricing';
import type { EffectiveLimits } from './plans';

/** Which limit refused a request; each is its own error code. */
export type LimitCode =
  | 'rate_limit_requests'
  | 'rate_limit_tokens'
  | 'quota_exceeded'
  | 'spend_cap_reached'
  | 'concurrency_limit'
  | 'insufficient_balance';

/** The worst case a request may use, reserved before the model is called. */
export interface ReservationRequest {
  tenantId: string;
  keyId: string;
  requestId: string;
  now: Date;
  limits: EffectiveLimits;
  /** Tokens counted against per-minute token limits (input + max output; 0 for images). */
  tokens: number;
  units: Units;
  costNanoUsd: number;
  /** After this long an unsettled reservation (a crashed process) is released by the sweeper. */
  ttlMs: number;
}

export interface Reservation {
  tenantId: string;
  keyId: string;
  requestId: string;
  minute: string;
  month: string;
  tokens: number;
  units: Units;
  costNanoUsd: number;
  expiresAt: string;
  tenantMinute: boolean;
  keyMinute: boolean;
  inFlight: boolean;
  /** Whether the key's own month cost counter was moved (keys with a monthly spend cap). */
  keyMonth?: boolean;
  /** Whether the tenant's credit balance was moved (prepaid tenants). */
  credit?: boolean;
  /** The key's project, when its counters were moved (projects with limits of their own). */
  projectId?: string;
  /** Whether the project's minute window was moved (a project with per-minute limits). */
  projectMinute?: boolean;
  /** Whether the project's month cost counter was moved (a project with a hard-stop budget). */
  projectMonth?: boolean;
}

export type Refusal = {
  ok: false;
  limit: LimitCode;
  /** Whose limit: the tenant's, the key's, or the key's project's. */
  scope: 'tenant' | 'key' | 'project';
  retryAfterSec: number;
  limitValue: number;
  /** For `quota_exceeded`: the unit whose included amount is used up. */
  unit?: BillingUnit;
  /** For monthly limits: what the month had used when the request was refused. */
  used?: number;
  /**
   * For `insufficient_balance`: a grant's expiry has come (its credit must leave the balance
   * first: see CreditStore.expireDue), falls within the lease asked for (single reservations), or
   * an expired grant still waits for the requests that were in flight at its expiry (`settling`:
   * the ledger's catch-up may give back what they did not use of it).
   */
  expiry?: 'due' | 'within' | 'settling';
  /**
   * For `insufficient_balance`: the credit granted in all (what marking an exhaustion is
   * conditional on) and whether the exhaustion is marked already (no write needed).
   */
  credit?: { grantedNanoUsd: number; exhaustedMarked: boolean };
};

export type ReserveResult = { ok: true; reservation: Reservation } | Refusal;

/** The actual use, known after the model answered. */
export interface Actual {
  tokens: number;
  units: Units;
  costNanoUsd: number;
}

export interface MinuteCount {
  requests: number;
  tokens: number;
}

/** A month's counted use. */
export interface MonthUse {
  units: Units;
  costNanoUsd: number;
}

export interface Peek {
  tenant?: MinuteCount;
  key?: MinuteCount;
  /** The key's project's minute window (read only for a project with limits of its own). */
  project?: MinuteCount;
  /** The project's month cost as counted (read only for a project with a hard-stop budget). */
  projectMonth?: number;
  month?: MonthUse;
  /** A prepaid tenant's credit balance left to reserve (nano-USD), as counted. */
  credit?: number;
}

/**
 * An amount of capacity over every counter a request moves: what a lease was granted, or what
 * its requests used. Requests and slots count requests; the rest are the request's own amounts.
 */
export interface Amount {
  requests: number;
  slots: number;
  tokens: number;
  units: Units;
  costNanoUsd: number;
}

export const RESERVATION_SHARDS = 8;
