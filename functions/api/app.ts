import type { OpenAPIHono } from '@hono/zod-openapi';
import { type ApiPlane, apiPlanes } from '../../shared/api-planes';
import type { ApiDeps, AppEnv } from './http/env';
import { createPlaneApp } from './plane-app';
import { registerBatchPlane } from './planes/batch';
import { registerBillingPlane } from './planes/billing';
import { registerConsolePlane } from './planes/console';
import { registerDataPlane } from './planes/data';
import { registerDocsPlane } from './planes/docs';

// Each plane's routes typecheck on this app only because ApiDeps has every plane's dependencies.
const planeRoutes: Record<ApiPlane, (app: OpenAPIHono<AppEnv>) => void> = {
  data: registerDataPlane,
  console: registerConsolePlane,
  billing: registerBillingPlane,
  docs: registerDocsPlane,
  batch: registerBatchPlane,
};

/**
 * The API as a Hono app, built from its dependencies and importing no runtime adapter: every
 * plane by default (the local server, the tests), or the `planes` given. In the cloud each plane
 * is its own function, whose entry mounts its plane alone (functions/api/lambda/).
 */
export function createApiApp(
  deps: ApiDeps,
  opts: { planes?: readonly ApiPlane[] } = {},
): OpenAPIHono<AppEnv> {
  return createPlaneApp(deps, ...(opts.planes ?? apiPlanes).map((plane) => planeRoutes[plane]));
}
