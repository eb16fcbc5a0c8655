/**
 * The API's planes. In the cloud each is its own Lambda function with its own IAM role (and so
 * its own bundle and cold start); locally all of them run in one process from the same code.
 * - `data`: `/v1/*`, the metered hot path: API keys, admission, model routing, metering. Invokes
 *   SageMaker; no Stripe, no session keys.
 * - `console`: sessions, accounts, keys, teams, operators. Invokes no model, holds no Stripe key.
 * - `billing`: what needs Stripe: `/account/billing` (Checkout, portal, invoices), top-ups
 *   (`/account/credits/top-ups`), Stripe's webhook,
 *   and the operators' `/admin/finance` (invoices of every customer, refunds, credit notes).
 * - `batch`: OpenAI's Files and Batches APIs (`/v1/files`, `/v1/batches`) and the consoles' batch
 *   pages: files in S3, work on a queue. It invokes no model: the batch worker runs the lines.
 * - `docs`: `/openapi.json` and `/docs`, public and static: no table, no secret, no model. Its own
 *   function because the document describes every plane's routes, whose code would otherwise
 *   push the console's bundle past 1 MB.
 * The functions (functions/api/planes/) and the HTTP API's routes (infra/stacks/api-stack.ts) are
 * both read from here, so a route cannot be served by one function and routed to another.
 */
export const apiPlanes = ['data', 'console', 'billing', 'docs', 'batch'] as const;
export type ApiPlane = (typeof apiPlanes)[number];

/** The plane that gets every path no other plane claims (the HTTP API's `/{proxy+}` and `/`). */
export const defaultPlane: ApiPlane = 'console';

/**
 * HTTP API route paths (API Gateway syntax, any method) of the planes other than the default: an
 * exact path, or a prefix with a greedy `{proxy+}`.
 */
export const planeRoutePaths: Readonly<Record<Exclude<ApiPlane, typeof defaultPlane>, readonly string[]>> = {
  data: ['/v1/{proxy+}'],
  billing: [
    '/account/billing',
    '/account/billing/{proxy+}',
    '/account/credits/top-ups',
    '/webhooks/{proxy+}',
    '/admin/finance',
    '/admin/finance/{proxy+}',
  ],
  docs: ['/openapi.json', '/docs'],
  batch: [
    '/v1/files',
    '/v1/files/{proxy+}',
    '/v1/batches',
    '/v1/batches/{proxy+}',
    '/account/batches',
    '/account/batches/{proxy+}',
    '/admin/batches',
    '/admin/batches/{proxy+}',
  ],
};

const GREEDY = '{proxy+}';

/**
 * The plane API Gateway hands `path` to: the most specific route wins, as in an HTTP API (an exact
 * path over any greedy one, then the longest greedy prefix), and the default plane gets the rest.
 */
export function planeOf(path: string): ApiPlane {
  let best: { plane: ApiPlane; rank: number } = { plane: defaultPlane, rank: -1 };
  for (const [plane, routes] of Object.entries(planeRoutePaths) as [ApiPlane, readonly string[]][]) {
    for (const route of routes) {
      let rank = -1;
      if (route.endsWith(GREEDY)) {
        const prefix = route.slice(0, -GREEDY.length);
        if (path.startsWith(prefix) && path.length > prefix.length) rank = prefix.length;
      } else if (path === route) {
        rank = Number.MAX_SAFE_INTEGER;
      }
      if (rank > best.rank) best = { plane, rank };
    }
  }
  return best.plane;
}
