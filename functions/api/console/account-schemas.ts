import { z } from '@hono/zod-openapi';
import { tenantRoles } from '#shared/accounts/roles';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '#shared/auth/passwords';

/** Schemas shared by the /auth, /account and /admin routes. */

/** Trimmed before it is checked: a pasted address often carries a space. */
export const Email = z
  .string()
  .trim()
  .pipe(z.email('must be an email address').max(254, 'must be at most 254 characters'))
  .openapi({ example: 'ada@example.com', format: 'email' });

export const Password = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `must have at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(MAX_PASSWORD_LENGTH, `must have at most ${MAX_PASSWORD_LENGTH} characters`)
  .openapi({ example: 'correct horse battery staple' });

export const Name = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters');

export const Role = z.enum(tenantRoles).openapi({ description: 'A role inside a tenant.' });
/** A plan id; whether the plan exists is checked against the plan store. */
export const PlanName = z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters');

/** One-time tokens from emails: shape is checked by the service, not here (any string is "unknown"). */
export const OneTimeToken = z.string().min(1, 'must not be empty').max(200, 'is not a token');

/** Security requirement of session routes: a bearer access token or the session cookie. */
export const sessionSecurity: Record<string, string[]>[] = [{ session: [] }, { sessionCookie: [] }];

export const AcceptedResponse = z
  .object({
    object: z.literal('accepted'),
    message: z.string(),
  })
  .openapi('Accepted');

export const SessionResponse = z
  .object({
    object: z.literal('session'),
    token_type: z.literal('Bearer'),
    access_token: z.string().openapi({ description: 'An ES256 JWT; send as `Authorization: Bearer`.' }),
    expires_in: z.number().int().openapi({ description: 'Seconds the access token stays valid.' }),
    refresh_token: z
      .string()
      .openapi({ description: 'Single use: POST /auth/refresh trades it for a new pair.' }),
    refresh_expires_at: z
      .string()
      .openapi({ description: 'When the session ends, however often it is refreshed.' }),
    session_id: z.string(),
    subject: z.union([
      z.object({ kind: z.literal('user'), user_id: z.string(), tenant_id: z.string() }),
      z.object({ kind: z.literal('operator'), operator_id: z.string() }),
    ]),
  })
  .openapi('Session');

export const TenantSchema = z
  .object({
    id: z.string(),
    object: z.literal('tenant'),
    name: z.string(),
    status: z.enum(['pending_verification', 'active', 'past_due', 'suspended']),
    plan: z.string(),
    contact_email: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('Tenant');

export const MemberSchema = z
  .object({
    object: z.literal('member'),
    user_id: z.string(),
    email: z.string(),
    name: z.string().nullable(),
    role: Role,
    joined_at: z.string(),
  })
  .openapi('Member');

export const InvitationSchema = z
  .object({
    id: z.string(),
    object: z.literal('invitation'),
    email: z.string(),
    role: Role,
    status: z.enum(['pending', 'expired']),
    invited_by: z.string(),
    created_at: z.string(),
    expires_at: z.string(),
  })
  .openapi('Invitation');

export const ApiKeySchema = z
  .object({
    id: z.string(),
    object: z.literal('api_key'),
    name: z.string(),
    prefix: z
      .string()
      .openapi({ example: 'tg_live_a1B2c3', description: 'The first characters of the secret.' }),
    status: z.enum(['active', 'revoked', 'expired']),
    scopes: z.array(z.string()),
    limits: z
      .object({
        requests_per_minute: z.number().int().optional(),
        tokens_per_minute: z.number().int().optional(),
        monthly_spend_cap_usd: z.number().optional().openapi({ description: 'The monthly budget, USD.' }),
        budget_mode: z.enum(['hard_stop', 'alert_only']).optional().openapi({
          description: 'With a budget: `hard_stop` refuses past it, `alert_only` only alerts.',
        }),
        budget_alerts: z
          .array(
            z.object({
              threshold: z.number().int().openapi({ description: '50, 80 or 100 (percent of the budget).' }),
              recipients: z.array(z.string()).openapi({
                description: '`owner`, `creator`, or a team member’s email address.',
              }),
            }),
          )
          .optional()
          .openapi({ description: 'With a budget: its alerts (the defaults filled in), lowest first.' }),
      })
      .nullable(),
    created_at: z.string(),
    created_by: z.string().nullable(),
    last_used_at: z.string().nullable().openapi({ description: 'Recorded at most once a minute per key.' }),
    expires_at: z.string().nullable(),
    rotated_to: z.string().nullable().openapi({ description: 'The successor of a rotated key.' }),
    project_id: z.string().openapi({
      description: 'The project the key belongs to (`proj_default`: the default project).',
      example: 'proj_default',
    }),
    scope: z
      .object({
        models: z.array(z.string()).openapi({ description: 'Models or `name@version`s; empty: all.' }),
        endpoints: z.array(z.string()).openapi({ description: 'Empty: all.' }),
        read_only: z.boolean(),
        ip_allowlist: z.array(z.string()).openapi({ description: 'CIDR ranges; empty: anywhere.' }),
      })
      .nullable()
      .openapi({ description: 'What the key is restricted to; null: nothing beyond its tenant’s rights.' }),
  })
  .openapi('ApiKey');
