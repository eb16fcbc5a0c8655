import { Hono } from 'hono';
import { matchesPathPattern, streamingPathPatterns } from '#shared/console-routes';
import { ApiError } from '#shared/errors';
import { EDGE_SECRET_HEADER, secretMatches } from '#shared/http/client-ip';

/** Anything with a fetch, as Hono apps are: the gated app is called with the same env (the Lambda event). */
interface Fetcher {
  fetch(request: Request, env?: unknown, executionCtx?: never): Response | Promise<Response>;
}

export interface EdgeOnlyOptions {
  /** The stage's edge secret (`EDGE_SECRET`): CloudFront's origins send it in `x-tollgate-edge-secret`. */
  edgeSecret: string | undefined;
  /** CloudFront path patterns this entry serves; every other path is a 404 here. */
  paths?: readonly string[];
}

/**
 * Locks a public entry (the streaming Function URL, which has no WAF and no API Gateway throttle in
 * front of it) to CloudFront: a request without the edge secret is a 403 before any other work
 * (no key lookup, no store read), and a request for a path this entry does not serve is a 404.
 * The secret is compared in constant time. Refuses to build without a secret, so a missing one is a
 * failed cold start, never an open door.
 */
export function edgeOnly(app: Fetcher, options: EdgeOnlyOptions): Hono {
  const secret = options.edgeSecret;
  if (!secret) throw new Error('edgeOnly: EDGE_SECRET is not set; the entry would be open to anyone');
  const paths = options.paths ?? streamingPathPatterns;
  if (paths.length === 0) throw new Error('edgeOnly: no paths to serve');
  const gate = new Hono();
  gate.all('*', (c) => {
    if (!secretMatches(c.req.header(EDGE_SECRET_HEADER), secret)) {
      const err = new ApiError('forbidden', 'This address serves requests through the API origin only.');
      return c.json(err.toEnvelope(), 403);
    }
    if (!paths.some((pattern) => matchesPathPattern(pattern, c.req.path))) {
      const err = new ApiError('not_found', `No route for ${c.req.method} ${c.req.path}.`);
      return c.json(err.toEnvelope(), 404);
    }
    return app.fetch(c.req.raw, c.env);
  });
  return gate;
}
