import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ConsoleEnv } from '#api/http/env';
import { registerCreateKey } from './create';
import { registerListKeys } from './list';
import { registerRevokeKey } from './revoke';
import { registerRotateKey } from './rotate';
import { registerUpdateKey } from './update';

/** `/account/keys`: create, list, revoke, rotate, change limits. */
export function registerKeys(app: OpenAPIHono<ConsoleEnv>): void {
  registerCreateKey(app);
  registerListKeys(app);
  registerRevokeKey(app);
  registerRotateKey(app);
  registerUpdateKey(app);
}
