import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../../env';
import { registerPinsList } from './list';
import { registerPinsRemove } from './remove';
import { registerPinsSet } from './set';

/**
 * A tenant's model pins under `/account/models/pins`. They expect the account (session) auth
 * middleware in front, setting `principal` to the signed-in tenant, and JSON bodies.
 */
export function registerPins(app: OpenAPIHono<AppEnv>): void {
  registerPinsList(app);
  registerPinsSet(app);
  registerPinsRemove(app);
}
