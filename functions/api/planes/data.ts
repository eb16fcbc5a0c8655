import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/env';
import { registerV1 } from '../routes/v1';

/** The data plane's routes: `/v1/*` (shared/api-planes.ts). */
export function registerDataPlane(app: OpenAPIHono<AppEnv>): void {
  registerV1(app);
}
