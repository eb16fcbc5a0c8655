/** The API's shapes, as far as the console reads them (see /openapi.json for the full ones). */

export type TenantStatus = 'pending_verification' | 'active' | 'past_due' | 'suspended';
export type Role = 'owner' | 'developer' | 'billing' | 'viewer';
export const roles: Role[] = ['owner', 'developer', 'billing', 'viewer'];

export interface Tenant {
  id: string;
  object: 'tenant';
  name: string;
  status: TenantStatus;
  plan: string;
  contact_email: string | null;
  created_at: string;
}

export interface Account {
  object: 'account';
  tenant: Tenant;
  user: { id: string; email: string; name: string | null; role: Role };
  permissions: string[];
}

export interface SessionAnswer {
  object: 'session';
  subject: { kind: 'user'; user_id: string; tenant_id: string } | { kind: 'operator'; operator_id: string };
}

export interface KeyLimits {
  requests_per_minute?: number;
  tokens_per_minute?: number;
  monthly_spend_cap_usd?: number;
}

export interface ApiKey {
  id: string;
  object: 'api_key';
  name: string;
  prefix: string;
  status: 'active' | 'revoked' | 'expired';
  scopes: string[];
  limits: KeyLimits | null;
  created_at: string;
  created_by: string | null;
  last_used_at: string | null;
  expires_at: string | null;
  rotated_to: string | null;
}

export interface ApiKeyWithSecret extends ApiKey {
  secret: string;
}

export interface List<T> {
  object: 'list';
  data: T[];
  next_cursor?: string | null;
}

export interface Member {
  object: 'member';
  user_id: string;
  email: string;
  name: string | null;
  role: Role;
  joined_at: string;
}

export interface Invitation {
  id: string;
  object: 'invitation';
  email: string;
  role: Role;
  status: 'pending' | 'expired';
  invited_by: string;
  created_at: string;
  expires_at: string;
}

export interface Team {
  object: 'team';
  members: Member[];
  invitations: Invitation[];
}

export interface TenantDetail {
  object: 'tenant_detail';
  tenant: Tenant;
  members: Member[];
  keys: ApiKey[];
  invitations: Invitation[];
}

export interface AuditEntry {
  id: string;
  object: 'audit_entry';
  at: string;
  actor: { kind: string; id: string; email?: string };
  action: string;
  target: { type: string; id: string; tenant_id?: string };
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  request_id: string | null;
}

/** One row of daily usage: GET /v1/usage (and, with quotas, GET /account/usage). */
export interface UsageRow {
  date: string;
  model: string;
  version: string;
  key_id: string;
  /** The key's name (absent from older servers; null when the key is not on record). */
  key_name?: string | null;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  images: number;
  cost_usd: string;
}

export interface UsageAnswer {
  object: 'list';
  start_date: string;
  end_date: string;
  data: UsageRow[];
  totals?: Omit<UsageRow, 'date' | 'model' | 'version' | 'key_id' | 'key_name'>;
  freshness?: UsageFreshness;
}

/**
 * How fresh usage figures are: they come from aggregates derived off the request path, complete
 * up to `as_of` (null: not known), `lag_ms` behind when answered. Absent from older servers.
 */
export interface UsageFreshness {
  as_of: string | null;
  lag_ms: number | null;
}

/**
 * A model or version from GET /v1/models. The minimal list has only `id`; the fuller catalog adds
 * versions, status and prices, which the console shows when present.
 */
export interface CatalogVersion {
  id: string;
  object: 'model';
  model?: string;
  version?: string;
  status?: 'preview' | 'active' | 'deprecated' | 'retired';
  description?: string | null;
  sunset_at?: string | null;
  replacement?: string | null;
  prices?: { unit: string; usd: string; per: number }[];
}

export interface CatalogModel {
  id: string;
  object: 'model';
  task?: string;
  description?: string;
  billing_units?: string[];
  default_version?: string;
  aliases?: Record<string, string>;
  pinned_version?: string | null;
  serving_version?: string | null;
  versions?: CatalogVersion[];
}

export interface AdminModelVersion {
  version: string;
  status: string;
  released_at: string;
  deprecated_at: string | null;
  sunset_at: string | null;
  replacement: string | null;
  prices_nano_usd: Record<string, number>;
  endpoint_name: string;
  variant: string;
}

export interface AdminModel {
  name: string;
  task: string;
  description: string;
  units: string[];
  status: string;
  default_version: string;
  aliases: Record<string, string>;
  traffic: Record<string, number>;
  revision: number;
  versions: AdminModelVersion[];
}

export interface ModelPin {
  object: 'model.pin';
  model: string;
  version: string;
  resolves_to: string | null;
  status: string | null;
  updated_at: string;
}

export type BillingUnit = 'input_tokens' | 'output_tokens' | 'images';

/** A plan as GET /admin/plans and GET /account/limits show it. */
export interface Plan {
  id: string;
  object: 'plan';
  name: string;
  overage: 'hard_stop' | 'bill';
  included: Partial<Record<BillingUnit, number>>;
  requests_per_minute: number | null;
  tokens_per_minute: number | null;
  max_concurrent: number | null;
  spend_cap_usd: string | null;
}

export interface UsageAlert {
  object: 'usage_alert';
  month: string;
  metric: string;
  threshold: number;
  unit: string;
  used: string;
  limit: string;
  at: string;
  notified: string | null;
}

/** GET /account/limits and GET /admin/tenants/{id}/limits. */
export interface Limits {
  object: 'limits';
  tenant_id: string;
  plan: Plan;
  overrides: {
    requests_per_minute?: number;
    tokens_per_minute?: number;
    max_concurrent?: number;
    spend_cap_usd?: string;
    included?: Partial<Record<BillingUnit, number>>;
  };
  owner_spend_cap_usd: string | null;
  effective: {
    overage: 'hard_stop' | 'bill';
    included: Record<BillingUnit, number | null>;
    requests_per_minute: number | null;
    tokens_per_minute: number | null;
    max_concurrent: number | null;
    spend_cap_usd: string | null;
  };
  month: {
    month: string;
    resets_at: string;
    used: Record<BillingUnit, number> & { cost_usd: string };
  };
  alerts: UsageAlert[];
  freshness?: UsageFreshness;
}

interface UsageCounts {
  requests: number;
  input_tokens: number;
  output_tokens: number;
  images: number;
  cost_usd: string;
}

/** GET /admin/usage: aggregates across tenants, per day and model version, and the top tenants. */
export interface PlatformUsage {
  object: 'platform_usage';
  start_date: string;
  end_date: string;
  by_day: (UsageCounts & { date: string; model: string; version: string })[];
  by_model: (UsageCounts & { model: string; version: string })[];
  totals: UsageCounts & { revenue_usd: string };
  top_tenants: {
    months: string[];
    data: (UsageCounts & { tenant_id: string; name: string | null; plan: string | null })[];
  };
  freshness?: UsageFreshness;
}

/** GET /admin/models/health: per model version, answers by outcome and latency of served requests. */
export interface ModelVersionHealth {
  model_version: string;
  requests: number;
  succeeded: number;
  refused: number;
  failed: number;
  client_errors: number;
  refusal_rate: number;
  error_rate: number;
  latency_ms: { p50: number | null; p90: number | null; p99: number | null };
  refusals_by_code: Record<string, number>;
  errors_by_code: Record<string, number>;
}

export interface ModelHealth {
  object: 'list';
  start_date: string;
  end_date: string;
  data: ModelVersionHealth[];
}
