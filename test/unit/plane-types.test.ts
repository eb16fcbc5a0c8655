import { OpenAPIHono } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import type { AppEnv, BillingEnv, ConsoleEnv, DataEnv, DocsPlaneDeps } from '#api/http/env';
import { registerBillingPlane } from '#api/planes/billing';
import { registerConsolePlane } from '#api/planes/console';
import { registerDataPlane } from '#api/planes/data';
import { createDocsPlaneDeps } from '#api/wiring/docs-deps';
import { loadConfig } from '#shared/config';
import { createLogger } from '#shared/logger';

/**
 * Mounts each plane's routes on an app of another plane's dependencies: never called, only
 * typechecked. `npm run typecheck` fails if one of the `@ts-expect-error` lines stops being an error.
 */
function routesOnTheWrongPlane(): void {
  const data = new OpenAPIHono<DataEnv>();
  // @ts-expect-error console routes read `accounts`, which the data plane does not wire
  registerConsolePlane(data);
  const console = new OpenAPIHono<ConsoleEnv>();
  // @ts-expect-error /v1 reads the model client, which the console plane does not wire
  registerDataPlane(console);
  // @ts-expect-error billing routes read `billing` (Stripe), which the console plane does not wire
  registerBillingPlane(console);
  const billing = new OpenAPIHono<BillingEnv>();
  // @ts-expect-error the console's routes read the catalog's admin, which the billing plane does not wire
  registerConsolePlane(billing);
}

const paths = (app: { getOpenAPI31Document: OpenAPIHono['getOpenAPI31Document'] }) =>
  Object.keys(app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } }).paths ?? {});

/** Each plane's routes are typed by the dependencies its function wires (functions/api/http/env.ts). */
describe('per-plane dependency types', () => {
  it("mount a plane's routes on its own app and on the app of every plane (the local server)", () => {
    const all = new OpenAPIHono<AppEnv>();
    registerDataPlane(all);
    registerConsolePlane(all);
    registerBillingPlane(all);
    const data = new OpenAPIHono<DataEnv>();
    registerDataPlane(data);
    expect(paths(all).length).toBeGreaterThan(40);
    expect(paths(data).length).toBeGreaterThan(5);
    expect(paths(data).filter((p) => !p.startsWith('/v1/'))).toEqual([]);
    // Kept for the typechecker, which holds the wrong mounts above as errors.
    expect(routesOnTheWrongPlane).toBeTypeOf('function');
  });

  it('wire nothing for the docs plane beyond what the common middleware reads', () => {
    const deps: DocsPlaneDeps = createDocsPlaneDeps(loadConfig({}), createLogger('silent'));
    expect(Object.keys(deps).sort()).toEqual(['clientIp', 'config', 'ids', 'log', 'metrics', 'now']);
  });
});
