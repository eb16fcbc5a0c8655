import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ConsoleEnv } from '#api/http/env';
import { registerGetRequest } from './get';
import { registerListRequests } from './list';
import { registerListRefusals } from './refusals';

/** `/account/requests*`: the request log (served calls from the usage ledger, refusal counts). */
export function registerRequests(app: OpenAPIHono<ConsoleEnv>): void {
  registerListRequests(app);
  // Before `{request_id}`, which would otherwise take `refusals` for an id.
  registerListRefusals(app);
  registerGetRequest(app);
}
