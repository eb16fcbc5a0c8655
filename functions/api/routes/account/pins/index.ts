import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ConsoleEnv } from '#api/http/env';
import { registerPinsList } from './list';
import { registerPinsRemove } from './remove';
import { registerPinsSet } from './set';

/**
 * A tenant's model pins under `/account/models/pins`, for `registerAccount` (behind `sessionAuth()`
 * and `requireUser()`). Every member reads them; owners and developers set them (`models:manage`).
 */
export function registerPins(app: OpenAPIHono<ConsoleEnv>): void {
  registerPinsList(app);
  registerPinsSet(app);
  registerPinsRemove(app);
}
