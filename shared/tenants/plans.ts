/** A tenant's plan: the id of a plan in the plan store (`shared/quotas/plan-store.ts`). */
export type Plan = string;

/** The plan a new signup starts on. */
export const DEFAULT_PLAN: Plan = 'free';
