import type { AuditActor, AuditEntry, AuditLog } from '../accounts/audit-log';
import type { ApiKeyAuthenticator } from '../auth/authenticator';
import type { BillingUnit } from '../catalog/types';
import { keys } from '../db/keys';
import type { TransactItem } from '../db/transact';
import type { Tenant, TenantStore } from '../tenants/tenant-store';
import type { PlanStore } from './plan-store';
import { billingUnits, type LimitOverrides, type Plan } from './plans';

/** What operators' changes to plans and limits need. */
export interface LimitsAdminDeps {
  plans: PlanStore;
  tenants: TenantStore;
  audit: AuditLog;
  authenticator: ApiKeyAuthenticator;
  /** One TransactWriteItems; throws `TransactionCanceledException` when a condition fails. */
  transact(items: TransactItem[]): Promise<void>;
  now: () => Date;
}

/** The limits a plan or an override sets, each a number, or null to remove it. */
export interface LimitsPatch {
  requestsPerMinute?: number | null;
  tokensPerMinute?: number | null;
  spendCapNanoUsd?: number | null;
  maxConcurrent?: number | null;
  /** Per unit; null removes that unit. */
  included?: Partial<Record<BillingUnit, number | null>>;
}

export interface PlanPatch extends LimitsPatch {
  name?: string;
  overage?: Plan['overage'];
  /** The trial a newly verified tenant gets; 0 or null removes it. */
  trialNanoUsd?: number | null;
  trialDays?: number | null;
  selfServe?: boolean;
}

/** A rule a plan breaks, naming the field (as the domain names it). */
export interface Invalid {
  field: keyof Plan;
  message: string;
}

const LIMIT_FIELDS = ['requestsPerMinute', 'tokensPerMinute', 'spendCapNanoUsd', 'maxConcurrent'] as const;

function patched<T extends LimitOverrides>(base: T, patch: LimitsPatch): T {
  const out: T = { ...base };
  for (const f of LIMIT_FIELDS) {
    const v = patch[f];
    if (v === null) delete out[f];
    else if (v !== undefined) out[f] = v;
  }
  if (patch.included) {
    const included = { ...out.included };
    for (const u of billingUnits) {
      const v = patch.included[u];
      if (v === null) delete included[u];
      else if (v !== undefined) included[u] = v;
    }
    out.included = included;
  }
  return out;
}

/** A plan with a patch applied: absent fields unchanged, null limits removed (unlimited). */
export function applyPlanPatch(plan: Plan, patch: PlanPatch): Plan {
  const next = patched(plan, patch) as Plan;
  next.included ??= {};
  if (patch.name !== undefined) next.name = patch.name;
  if (patch.overage !== undefined) next.overage = patch.overage;
  for (const f of ['trialNanoUsd', 'trialDays'] as const) {
    const v = patch[f];
    if (v !== undefined && v !== null && v !== 0) next[f] = v;
  }
  // Either set to 0 (or null) means no trial: both go.
  if ([patch.trialNanoUsd, patch.trialDays].some((v) => v === null || v === 0)) {
    delete next.trialNanoUsd;
    delete next.trialDays;
  }
  if (patch.selfServe !== undefined) next.selfServe = patch.selfServe;
  return next;
}

/** Rules across fields that a schema alone cannot state. */
export function validatePlan(plan: Plan): Invalid | undefined {
  if (plan.overage === 'hard_stop' && plan.spendCapNanoUsd !== undefined) {
    return {
      field: 'spendCapNanoUsd',
      message:
        'A hard-stop plan stops at its included units and bills nothing past them, so it takes no spend cap; set overage to "bill" or leave the cap out.',
    };
  }
  // A trial is an amount and how long it lasts: one without the other gives nothing, so it is refused.
  if (plan.trialNanoUsd !== undefined && plan.trialDays === undefined) {
    return {
      field: 'trialDays',
      message: 'A trial amount needs trial_days (how many days the trial credit lasts), 1 to 3650.',
    };
  }
  if (plan.trialDays !== undefined && plan.trialNanoUsd === undefined) {
    return {
      field: 'trialNanoUsd',
      message: 'trial_days needs a trial_usd above 0 (set trial_days to 0 or null to give no trial).',
    };
  }
  return undefined;
}

const same = (a: unknown, b: unknown) => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));

function sortKeys(v: unknown): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, x]) => [k, sortKeys(x)]),
  );
}

function cancelled(err: unknown): boolean {
  return (err as Error).name === 'TransactionCanceledException';
}

export type PlanWrite =
  | { status: 'created' | 'updated'; plan: Plan; entry: AuditEntry }
  | { status: 'unchanged'; plan: Plan }
  | { status: 'invalid'; invalid: Invalid }
  | { status: 'exists' | 'not_found' | 'conflict' };

/** Creates a plan, with its audit entry in the same transaction. */
export async function createPlan(
  d: LimitsAdminDeps,
  input: { plan: Plan; actor: AuditActor; requestId: string | null },
): Promise<PlanWrite> {
  const invalid = validatePlan(input.plan);
  if (invalid) return { status: 'invalid', invalid };
  const entry = d.audit.entry(
    {
      actor: input.actor,
      action: 'plan.create',
      target: { type: 'plan', id: input.plan.id },
      before: null,
      after: { ...input.plan },
      requestId: input.requestId,
    },
    d.now(),
  );
  try {
    await d.transact([d.plans.putItem(input.plan), d.audit.putItem(entry)]);
  } catch (err) {
    if (cancelled(err)) return { status: 'exists' };
    throw err;
  }
  d.plans.forget();
  return { status: 'created', plan: input.plan, entry };
}

/**
 * Edits a plan, with its audit entry (before and after) in the same transaction, conditional on
 * the plan not having changed since it was read. Tenants on it get the new limits within the
 * plan cache's TTL (at once on this instance).
 */
export async function updatePlan(
  d: LimitsAdminDeps,
  input: { id: string; patch: PlanPatch; actor: AuditActor; requestId: string | null },
): Promise<PlanWrite> {
  const stored = await d.plans.read(input.id);
  if (!stored) return { status: 'not_found' };
  const next = applyPlanPatch(stored.plan, input.patch);
  if (same(next, stored.plan)) return { status: 'unchanged', plan: stored.plan };
  const invalid = validatePlan(next);
  if (invalid) return { status: 'invalid', invalid };
  const entry = d.audit.entry(
    {
      actor: input.actor,
      action: 'plan.update',
      target: { type: 'plan', id: input.id },
      before: { ...stored.plan },
      after: { ...next },
      requestId: input.requestId,
    },
    d.now(),
  );
  try {
    await d.transact([d.plans.putItem(next, stored.revision), d.audit.putItem(entry)]);
  } catch (err) {
    if (cancelled(err)) return { status: 'conflict' };
    throw err;
  }
  d.plans.forget();
  return { status: 'updated', plan: next, entry };
}

export type OverridesWrite =
  | { status: 'changed'; tenant: Tenant; entry: AuditEntry }
  | { status: 'unchanged'; tenant: Tenant }
  | { status: 'not_found' | 'conflict' };

/**
 * An operator's overrides of a tenant's plan limits (raise or lower anything), with the audit
 * entry in the same transaction, conditional on the overrides not having changed since they
 * were read. Bites at once on this instance, everywhere within AUTH_CACHE_TTL_MS.
 */
export async function setTenantOverrides(
  d: LimitsAdminDeps,
  input: { tenantId: string; patch: LimitsPatch; actor: AuditActor; requestId: string | null },
): Promise<OverridesWrite> {
  const tenant = await d.tenants.get(input.tenantId);
  if (!tenant) return { status: 'not_found' };
  const before = tenant.limitOverrides ?? {};
  const after = patched(before, input.patch);
  if (after.included && Object.keys(after.included).length === 0) delete after.included;
  if (same(after, before)) return { status: 'unchanged', tenant };
  const revision = tenant.limitsRevision ?? 0;
  const empty = Object.keys(after).length === 0;
  const entry = d.audit.entry(
    {
      actor: input.actor,
      action: 'tenant.limits',
      target: { type: 'tenant', id: tenant.id, tenantId: tenant.id },
      before: { limitOverrides: before },
      after: { limitOverrides: after },
      requestId: input.requestId,
    },
    d.now(),
  );
  try {
    await d.transact([
      {
        Update: {
          TableName: d.tenants.table,
          Key: keys.tenant(tenant.id),
          UpdateExpression: empty
            ? 'SET limitsRevision = :next REMOVE limitOverrides'
            : 'SET limitsRevision = :next, limitOverrides = :o',
          ConditionExpression:
            revision === 0
              ? 'attribute_exists(pk) AND attribute_not_exists(limitsRevision)'
              : 'limitsRevision = :rev',
          ExpressionAttributeValues: {
            ':next': revision + 1,
            ...(empty ? {} : { ':o': after }),
            ...(revision === 0 ? {} : { ':rev': revision }),
          },
        },
      },
      d.audit.putItem(entry),
    ]);
  } catch (err) {
    if (cancelled(err)) return { status: 'conflict' };
    throw err;
  }
  d.authenticator.forgetTenant(tenant.id);
  const { limitOverrides: _old, ...rest } = tenant;
  return {
    status: 'changed',
    tenant: { ...rest, ...(empty ? {} : { limitOverrides: after }), limitsRevision: revision + 1 },
    entry,
  };
}
