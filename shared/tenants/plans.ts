/** The plans a tenant can be on. Limits per plan arrive with quotas; here a plan is a name. */
export const plans = ['free', 'pay_as_you_go', 'enterprise'] as const;
export type Plan = (typeof plans)[number];

/** The plan a new signup starts on. */
export const DEFAULT_PLAN: Plan = 'free';
