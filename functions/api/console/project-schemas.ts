import { z } from '@hono/zod-openapi';
import type { Member } from '#shared/accounts/user-store';
import { ApiError } from '#shared/errors';
import { formatUsd, usdToNano } from '#shared/metering/pricing';
import {
  DEFAULT_PROJECT_ID,
  type Project,
  type ProjectLimits,
  type ProjectRole,
  projectRoles,
} from '#shared/projects/project';
import { effectiveProjectRole } from '#shared/projects/project-rights';
import type { ProjectMember } from '#shared/projects/project-store';
import type { EffectiveLimits } from '#shared/quotas/plans';

export const ProjectRoleSchema = z
  .enum(projectRoles)
  .openapi({ description: 'A role inside one project: `owner`, `developer` or `viewer`.' });

export const ProjectId = z
  .object({
    project_id: z
      .string()
      .max(64)
      .openapi({ param: { name: 'project_id', in: 'path' }, example: DEFAULT_PROJECT_ID }),
  })
  .openapi('ProjectIdParam');

export const ProjectMemberParams = ProjectId.extend({
  user_id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'user_id', in: 'path' }, example: 'usr_01J...' }),
}).openapi('ProjectMemberParams');

/** A project's limits as the API takes them: each one only narrows the tenant's. */
export const ProjectLimitsInput = z
  .object({
    requests_per_minute: z.number().int('must be a whole number').min(1).max(1_000_000).optional(),
    tokens_per_minute: z.number().int('must be a whole number').min(1).max(1_000_000_000).optional(),
    monthly_budget_usd: z
      .number()
      .positive('must be more than 0')
      .max(1_000_000)
      .refine((v) => usdToNano(v) !== null, 'must have at most 9 decimal places')
      .optional()
      .openapi({ description: "The project's monthly budget in USD, at most the tenant's spend cap." }),
    budget_mode: z
      .enum(['hard_stop', 'alert_only'], { message: 'must be `hard_stop` or `alert_only`' })
      .optional()
      .openapi({
        description:
          '`hard_stop` (default): a request that could take the project past its budget is refused. `alert_only`: never refused, only alerts.',
      }),
  })
  .strict()
  .superRefine((l, ctx) => {
    if (l.budget_mode !== undefined && l.monthly_budget_usd === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['budget_mode'],
        message: 'needs `monthly_budget_usd`: the budget it applies to',
      });
    }
  })
  .openapi('ProjectLimitsInput', {
    description: "A project's limits, nested inside the tenant's: none may exceed the tenant's own.",
  });

export const ProjectLimitsSchema = z
  .object({
    requests_per_minute: z.number().int().optional(),
    tokens_per_minute: z.number().int().optional(),
    monthly_budget_usd: z
      .string()
      .optional()
      .openapi({ description: 'Exact USD, nine decimal places.', example: '50.000000000' }),
    budget_mode: z.enum(['hard_stop', 'alert_only']).optional(),
  })
  .nullable()
  .openapi('ProjectLimits');

export const ProjectSchema = z
  .object({
    id: z.string().openapi({ example: DEFAULT_PROJECT_ID }),
    object: z.literal('project'),
    name: z.string(),
    default: z
      .boolean()
      .openapi({ description: 'The default project: keys made without a project are in it.' }),
    created_at: z.string(),
    archived_at: z.string().nullable(),
    limits: ProjectLimitsSchema,
    your_role: ProjectRoleSchema.nullable().openapi({
      description: 'Your role in this project (see docs/projects.md); null: none (billing members).',
    }),
  })
  .openapi('Project');

export const ProjectMemberSchema = z
  .object({
    object: z.literal('project_member'),
    project_id: z.string(),
    user_id: z.string(),
    email: z.string(),
    name: z.string().nullable(),
    tenant_role: z.string().openapi({ description: 'Their role in the tenant.' }),
    project_role: ProjectRoleSchema.nullable().openapi({
      description: 'The role given in this project, if any.',
    }),
    effective_role: ProjectRoleSchema.nullable().openapi({
      description: 'What they may do here (see docs/projects.md).',
    }),
  })
  .openapi('ProjectMember');

export function toProjectLimits(
  input: z.infer<typeof ProjectLimitsInput> | null | undefined,
): ProjectLimits | null {
  if (!input) return null;
  const out: ProjectLimits = {};
  if (input.requests_per_minute !== undefined) out.requestsPerMinute = input.requests_per_minute;
  if (input.tokens_per_minute !== undefined) out.tokensPerMinute = input.tokens_per_minute;
  if (input.monthly_budget_usd !== undefined)
    out.budgetNanoUsd = usdToNano(input.monthly_budget_usd) ?? undefined;
  if (input.budget_mode !== undefined) out.budgetMode = input.budget_mode;
  return Object.keys(out).length > 0 ? out : null;
}

/**
 * A project's limits nest inside the tenant's: a budget above the tenant's spend cap, or a rate
 * above the tenant's, is refused with a 400 naming the field (under `param_prefix`).
 */
export function checkNested(
  limits: ProjectLimits | null,
  tenant: EffectiveLimits['tenant'],
  paramPrefix: string,
): void {
  if (!limits) return;
  const over = (field: string, what: string, max: string) =>
    new ApiError(
      'invalid_request',
      `'${paramPrefix}${field}' may not exceed the account's ${what} (${max}).`,
      {
        param: `${paramPrefix}${field}`,
      },
    );
  if (
    limits.budgetNanoUsd !== undefined &&
    tenant.spendCapNanoUsd !== undefined &&
    limits.budgetNanoUsd > tenant.spendCapNanoUsd
  ) {
    throw over('monthly_budget_usd', 'monthly spend cap', `${formatUsd(tenant.spendCapNanoUsd)} USD`);
  }
  if (
    limits.requestsPerMinute !== undefined &&
    tenant.requestsPerMinute !== undefined &&
    limits.requestsPerMinute > tenant.requestsPerMinute
  ) {
    throw over('requests_per_minute', 'requests per minute', String(tenant.requestsPerMinute));
  }
  if (
    limits.tokensPerMinute !== undefined &&
    tenant.tokensPerMinute !== undefined &&
    limits.tokensPerMinute > tenant.tokensPerMinute
  ) {
    throw over('tokens_per_minute', 'tokens per minute', String(tenant.tokensPerMinute));
  }
}

export function projectLimitsView(limits: ProjectLimits | null): z.infer<typeof ProjectLimitsSchema> {
  if (!limits) return null;
  return {
    ...(limits.requestsPerMinute !== undefined ? { requests_per_minute: limits.requestsPerMinute } : {}),
    ...(limits.tokensPerMinute !== undefined ? { tokens_per_minute: limits.tokensPerMinute } : {}),
    ...(limits.budgetNanoUsd !== undefined ? { monthly_budget_usd: formatUsd(limits.budgetNanoUsd) } : {}),
    ...(limits.budgetNanoUsd !== undefined ? { budget_mode: limits.budgetMode ?? 'hard_stop' } : {}),
  };
}

export function projectView(p: Project, yourRole: ProjectRole | null): z.infer<typeof ProjectSchema> {
  return {
    id: p.id,
    object: 'project',
    name: p.name,
    default: p.id === DEFAULT_PROJECT_ID,
    created_at: p.createdAt,
    archived_at: p.archivedAt ?? null,
    limits: projectLimitsView(p.limits),
    your_role: yourRole,
  };
}

export function projectMemberView(
  projectId: string,
  member: Member,
  given: ProjectMember | undefined,
): z.infer<typeof ProjectMemberSchema> {
  return {
    object: 'project_member',
    project_id: projectId,
    user_id: member.userId,
    email: member.email,
    name: member.name,
    tenant_role: member.role,
    project_role: given?.role ?? null,
    effective_role: effectiveProjectRole(member.role, given?.role),
  };
}
