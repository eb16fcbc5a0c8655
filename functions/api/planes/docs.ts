import type { OpenAPIHono } from '@hono/zod-openapi';
import { type AppEnv, type DocsPlaneDeps, planeRoutes } from '../http/env';
import { registerDocs } from '../routes/docs';
import { type ApiDocument, buildApiDocument } from '../spec/document';
import { registerBatchPlane } from './batch';
import { registerBillingPlane } from './billing';
import { registerConsolePlane } from './console';
import { registerDataPlane } from './data';

/**
 * Every plane's routes, in the order of /openapi.json. Only ever mounted on a document-only app:
 * the document describes the whole API, whichever function serves it.
 */
export function describeApi(doc: OpenAPIHono<AppEnv>): void {
  registerDataPlane(doc);
  registerConsolePlane(doc);
  registerBillingPlane(doc);
  registerBatchPlane(doc);
}

/** The document /openapi.json serves, built without a server (the console's types, the tests). */
export function apiDocument(
  opts: { publicUrl: string } = { publicUrl: 'http://localhost:8787' },
): ApiDocument {
  return buildApiDocument(describeApi, opts);
}

/** The docs plane's routes: `/openapi.json` and `/docs`, describing every plane. */
export const registerDocsPlane = planeRoutes<DocsPlaneDeps>((app) => {
  registerDocs(app, describeApi);
});
