/**
 * The API's shapes as the console names them: aliases of the types generated from the API's
 * OpenAPI document (./api-types.ts, `npm run api-types`), so they change with the routes' schemas
 * and never drift from what the API answers.
 */
import type { components } from './api-types';

type Schemas = components['schemas'];

export type Tenant = Schemas['Tenant'];
export type TenantStatus = Tenant['status'];
export type Role = Schemas['Member']['role'];
export const roles: Role[] = ['owner', 'developer', 'billing', 'viewer'];

export type Account = Schemas['Account'];
export type SessionAnswer = Schemas['Session'];

export type ApiKey = Schemas['ApiKey'];
export type KeyLimits = NonNullable<ApiKey['limits']>;
export type ApiKeyWithSecret = Schemas['ApiKeyWithSecret'];

/** A page of a list answer (`object: 'list'`); cursor-paged lists add `next_cursor`. */
export interface List<T> {
  object: 'list';
  data: T[];
  next_cursor?: string | null;
}

export type Member = Schemas['Member'];
export type ProjectRole = NonNullable<Project['your_role']>;
export const projectRoles: ProjectRole[] = ['owner', 'developer', 'viewer'];
export type ProjectMember = Schemas['ProjectMember'];
export type Invitation = Schemas['Invitation'];
export type Team = Schemas['Team'];
export type TenantDetail = Schemas['TenantDetail'];
export type AuditEntry = Schemas['AuditEntry'];
/** GET /account/audit: an entry of the tenant's own trail. */
export type AccountAuditEntry = Schemas['AccountAuditEntry'];

/** GET /v1/usage, GET /account/usage, GET /admin/tenants/{tenant_id}/usage. */
export type UsageAnswer = Schemas['UsageResponse'];
/** One row of daily usage: a day, a model version and a key. */
export type UsageRow = UsageAnswer['data'][number];
/** How fresh usage figures are (see the schema's description). */
export type UsageFreshness = Schemas['UsageFreshness'];

/** `id` and `object` for sure, the rest when the server sends it: model lists may be the minimal one. */
type IdOnly<T extends { id: string; object: 'model' }> = Pick<T, 'id' | 'object'> &
  Partial<Omit<T, 'id' | 'object' | 'versions'>>;
/**
 * One version, `name@version`, as the model list and GET /v1/models/{id} show it. The console also
 * reads minimal lists (ids only), so everything but the id may be missing.
 */
export type CatalogVersion = IdOnly<Schemas['ModelVersion']>;
/** A model of GET /account/models or GET /v1/models, with its versions when the list has them. */
export type CatalogModel = IdOnly<Schemas['Model']> & { versions?: CatalogVersion[] };

export type AdminModel = Schemas['AdminModel'];
export type AdminModelVersion = AdminModel['versions'][number];
export type ModelPin = Schemas['ModelPin'];

export type BillingUnit = keyof Schemas['Units'];
/** A plan as GET /admin/plans and GET /account/limits show it. */
export type Plan = Schemas['Plan'];
export type UsageAlert = Schemas['UsageAlert'];
/** GET /account/limits and GET /admin/tenants/{tenant_id}/limits. */
export type Limits = Schemas['Limits'];
/** GET /admin/usage: aggregates across tenants, per day and model version, and the top tenants. */
export type PlatformUsage = Schemas['PlatformUsage'];
/** GET /admin/models/health: per model version, answers by outcome and latency of served requests. */
export type ModelHealth = Schemas['ModelHealth'];
export type ModelVersionHealth = ModelHealth['data'][number];

/** GET /public/pricing: the plans and the catalog's cards, for anyone. */
export type Pricing = Schemas['Pricing'];
export type PublicModel = Schemas['PublicModel'];
/** A version card's sample: the request that calls it and an answer in its format. */
export type VersionSample = Schemas['ModelVersion']['sample'];

export type AccountBatch = Schemas['AccountBatch'];
export type AccountBatchList = Schemas['AccountBatchList'];
export type BatchBacklog = Schemas['AdminBatchBacklog'];

export type RequestRecord = Schemas['Request'];
export type RequestList = Schemas['RequestList'];
export type RefusalCount = Schemas['RefusalCount'];
export type RefusalCountList = Schemas['RefusalCountList'];
export type Project = Schemas['Project'];
