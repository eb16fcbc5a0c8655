import { z } from '@hono/zod-openapi';
import { limitFields, trialFields, wireField } from '#api/console/limits-schemas';
import { ApiError } from '#shared/errors';
import type { PlanWrite } from '#shared/quotas/limits-admin';

export const PlanId = z
  .string()
  .regex(
    /^[a-z][a-z0-9_-]{1,39}$/,
    'must be 2 to 40 lowercase letters, digits, - or _, starting with a letter',
  )
  .openapi({ example: 'team-2026' });

export const PlanIdParam = z.object({
  plan_id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'plan_id', in: 'path' }, example: 'payg' }),
});

const Name = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters');
const Overage = z.enum(['hard_stop', 'bill']).openapi({
  description:
    '`hard_stop` refuses past the included units (free); `bill` bills past them up to the spend cap.',
});

const SelfServe = z.boolean().openapi({
  description:
    'Whether tenant owners may move to and from this plan themselves (`POST /account/billing/plan`); default false.',
});

export const CreatePlan = z
  .object({
    id: PlanId,
    name: Name,
    overage: Overage,
    self_serve: SelfServe.optional(),
    ...limitFields,
    ...trialFields,
  })
  .strict()
  .openapi('CreatePlanRequest');

export const UpdatePlan = z
  .object({
    name: Name.optional(),
    overage: Overage.optional(),
    self_serve: SelfServe.optional(),
    ...limitFields,
    ...trialFields,
  })
  .strict()
  .openapi('UpdatePlanRequest');

export function planNotFound(id: string): ApiError {
  return new ApiError('not_found', `No plan '${id}'.`, { param: 'plan_id' });
}

/** The failures of a plan write as API errors. */
export function planWriteError(id: string, r: Exclude<PlanWrite, { plan: unknown }>): ApiError {
  switch (r.status) {
    case 'invalid':
      return new ApiError('invalid_request', r.invalid.message, {
        param: wireField[r.invalid.field] ?? null,
      });
    case 'exists':
      return new ApiError('conflict', `A plan '${id}' already exists; PATCH it instead.`, { param: 'id' });
    case 'not_found':
      return planNotFound(id);
    case 'conflict':
      return new ApiError('conflict', 'The plan changed meanwhile; read it again and retry.', {
        param: 'plan_id',
      });
  }
}
