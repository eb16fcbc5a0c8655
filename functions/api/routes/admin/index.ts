import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ConsoleEnv } from '#api/http/env';
import { registerAuditList } from './audit/list';
import { guardAdmin } from './guard';
import { registerAdminModels } from './models';
import { registerPlans } from './plans';
import { registerChangeTenant } from './tenants/change';
import { registerTenantCredits } from './tenants/credits';
import { registerGetTenant } from './tenants/get';
import { registerTenantLimits } from './tenants/limits';
import { registerListTenants } from './tenants/list';
import { registerTenantUsage } from './tenants/usage';
import { registerAdminUsage } from './usage/get';

/** `/admin/*` but finance: the platform operators' API. Tenant users get 403 whatever their role. */
export function registerAdmin(app: OpenAPIHono<ConsoleEnv>): void {
  guardAdmin(app);
  registerListTenants(app);
  registerGetTenant(app);
  registerChangeTenant(app);
  registerAuditList(app);
  registerTenantLimits(app);
  registerTenantUsage(app);
  registerTenantCredits(app);
  registerPlans(app);
  registerAdminUsage(app);
  registerAdminModels(app);
}
