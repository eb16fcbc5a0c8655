import type { BillingUnit } from '../catalog/types';
import type { ProjectLimits } from '../projects/project';

/**
 * A plan, as data (operators edit plans; tenants point at one by id). Limits are absent when
 * unlimited. Money is integer nano-USD.
 */
export interface Plan {
  id: string;
  name: string;
  /** Units included each calendar month (UTC). */
  included: Partial<Record<BillingUnit, number>>;
  /** Past the included units: `hard_stop` refuses (free), `bill` charges them (pay-as-you-go). */
  overage: 'hard_stop' | 'bill';
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** Default monthly spend cap in nano-USD; owners may lower it, operators may change it. */
  spendCapNanoUsd?: number;
  maxConcurrent?: number;
  /**
   * The trial a new tenant on this plan gets when its email is verified: one `trial` credit grant
   * of this amount (nano-USD), valid `trialDays` days. Absent (or 0): no trial.
   */
  trialNanoUsd?: number;
  trialDays?: number;
  /**
   * Whether an owner may move to (or away from) this plan in the console. Absent on plans stored
   * before the field existed: then only `free` and `payg` are.
   */
  selfServe?: boolean;
}

/** The trial a plan gives a newly verified tenant, or null for none. */
export function trialOf(plan: Plan | undefined): { amountNanoUsd: number; days: number } | null {
  if (!plan?.trialNanoUsd || !plan.trialDays || plan.trialNanoUsd <= 0 || plan.trialDays <= 0) return null;
  return { amountNanoUsd: plan.trialNanoUsd, days: plan.trialDays };
}

/** Whether owners may pick this plan themselves (others are set by operators, e.g. enterprise). */
export function isSelfServe(plan: Plan): boolean {
  return plan.selfServe ?? (plan.id === 'free' || plan.id === 'payg');
}

/** Narrower limits an owner sets on one key, or an operator sets on a tenant. */
export interface LimitOverrides {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  spendCapNanoUsd?: number;
  maxConcurrent?: number;
  included?: Partial<Record<BillingUnit, number>>;
}

/** The limits that apply to one request, after plan, tenant overrides and key limits. */
export interface EffectiveLimits {
  tenant: {
    requestsPerMinute?: number;
    tokensPerMinute?: number;
    maxConcurrent?: number;
    /** Monthly ceiling per unit (free plans: the included units). */
    monthlyUnits: Partial<Record<BillingUnit, number>>;
    /** Monthly ceiling on cost (pay-as-you-go: the spend cap). */
    spendCapNanoUsd?: number;
    /** Admitted against the tenant's credit balance (prepaid): refused when it cannot pay the worst case. */
    prepaid?: boolean;
  };
  key: {
    requestsPerMinute?: number;
    tokensPerMinute?: number;
    /** The key's own monthly ceiling on cost (nano-USD), counted on a per-key month counter. */
    spendCapNanoUsd?: number;
  };
  /**
   * The key's project's own limits, nested inside the tenant's, beside the key's: present only when
   * the project has one that admission enforces (per-minute limits, a hard-stop budget).
   */
  project?: {
    id: string;
    requestsPerMinute?: number;
    tokensPerMinute?: number;
    /** The project's hard-stop monthly budget (nano-USD), counted on a per-project month counter. */
    spendCapNanoUsd?: number;
  };
  /** Units the month includes (both kinds of plan): what the 50/80/100% alerts measure. */
  included: Partial<Record<BillingUnit, number>>;
}

/** Every unit a plan can bill. */
export const billingUnits: readonly BillingUnit[] = ['input_tokens', 'output_tokens', 'images'];

const USD = 1_000_000_000;

/** The plans a stage starts with. */
export const defaultPlans: Plan[] = [
  {
    id: 'free',
    name: 'Free',
    included: { input_tokens: 1_000_000, output_tokens: 200_000, images: 500 },
    overage: 'hard_stop',
    requestsPerMinute: 60,
    tokensPerMinute: 40_000,
    maxConcurrent: 4,
    selfServe: true,
  },
  {
    id: 'payg',
    name: 'Pay as you go',
    included: { input_tokens: 1_000_000, output_tokens: 200_000, images: 500 },
    overage: 'bill',
    requestsPerMinute: 600,
    tokensPerMinute: 400_000,
    spendCapNanoUsd: 100 * USD,
    maxConcurrent: 32,
    selfServe: true,
  },
  {
    id: 'enterprise',
    name: 'Enterprise',
    included: { input_tokens: 50_000_000, output_tokens: 10_000_000, images: 50_000 },
    overage: 'bill',
    requestsPerMinute: 6_000,
    tokensPerMinute: 4_000_000,
    spendCapNanoUsd: 10_000 * USD,
    maxConcurrent: 256,
    selfServe: false,
  },
];

const narrower = (a: number | undefined, b: number | undefined) =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

/**
 * Combines a plan with the operator's tenant overrides (which may raise or lower anything), the
 * owner's own spend cap (which may only lower it) and a key's limits (which may only narrow).
 */
export function effectiveLimits(
  plan: Plan,
  opts: {
    tenantOverrides?: LimitOverrides;
    ownerSpendCapNanoUsd?: number;
    /** A key's limits; an `alert_only` budget is not a limit (admission never sees it). */
    keyLimits?: LimitOverrides & { budgetMode?: 'hard_stop' | 'alert_only' };
    /** The key's project and its limits; like a key's, an `alert_only` budget is not a limit. */
    project?: { id: string; limits: ProjectLimits | null | undefined };
    prepaid?: boolean;
  } = {},
): EffectiveLimits {
  const o = opts.tenantOverrides ?? {};
  const included = { ...plan.included, ...o.included };
  // On a hard-stop plan a unit the plan does not list is not included at all: 0, not unlimited.
  const hardStopUnits: Partial<Record<BillingUnit, number>> = {};
  for (const u of billingUnits) hardStopUnits[u] = included[u] ?? 0;
  const planCap = o.spendCapNanoUsd ?? plan.spendCapNanoUsd;
  return {
    tenant: {
      requestsPerMinute: o.requestsPerMinute ?? plan.requestsPerMinute,
      tokensPerMinute: o.tokensPerMinute ?? plan.tokensPerMinute,
      maxConcurrent: o.maxConcurrent ?? plan.maxConcurrent,
      monthlyUnits: plan.overage === 'hard_stop' ? hardStopUnits : {},
      spendCapNanoUsd: plan.overage === 'bill' ? narrower(planCap, opts.ownerSpendCapNanoUsd) : undefined,
      ...(opts.prepaid ? { prepaid: true } : {}),
    },
    key: {
      requestsPerMinute: opts.keyLimits?.requestsPerMinute,
      tokensPerMinute: opts.keyLimits?.tokensPerMinute,
      // An alert-only budget leaves the key as a key without a cap: no month counter, the
      // tenant's shared lease, nothing more at admission (its alerts come from the usage consumer).
      spendCapNanoUsd:
        opts.keyLimits?.budgetMode === 'alert_only' ? undefined : opts.keyLimits?.spendCapNanoUsd,
    },
    ...projectPart(opts.project),
    included,
  };
}

/**
 * A project's limits as admission enforces them, or nothing: a project without per-minute limits
 * and without a hard-stop budget moves no counter of its own (its requests are admitted as before
 * projects existed).
 */
function projectPart(
  project: { id: string; limits: ProjectLimits | null | undefined } | undefined,
): Pick<EffectiveLimits, 'project'> {
  const l = project?.limits;
  if (!project || !l) return {};
  // A limit stored as null is no limit.
  const rpm = l.requestsPerMinute ?? undefined;
  const tpm = l.tokensPerMinute ?? undefined;
  const cap = l.budgetMode === 'alert_only' ? undefined : (l.budgetNanoUsd ?? undefined);
  if (rpm === undefined && tpm === undefined && cap === undefined) return {};
  return {
    project: {
      id: project.id,
      ...(rpm !== undefined ? { requestsPerMinute: rpm } : {}),
      ...(tpm !== undefined ? { tokensPerMinute: tpm } : {}),
      ...(cap !== undefined ? { spendCapNanoUsd: cap } : {}),
    },
  };
}
