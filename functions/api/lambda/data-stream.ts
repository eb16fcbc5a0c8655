import { streamHandle } from 'hono/aws-lambda';
import { app, config } from './data';
import { edgeOnly } from './edge-only';

/**
 * The data plane behind a Lambda Function URL in RESPONSE_STREAM mode, so `stream: true` chat
 * completions reach the client token by token instead of buffered. `streamHandle` needs the
 * `awslambda` global, which the Lambda runtime defines before it imports this module.
 *
 * The URL is public (auth NONE: API clients cannot sign bodies for origin access control), so it
 * answers only CloudFront: without the edge secret its origins send, a 403; and only the streaming
 * routes (shared/console-routes.ts), so nothing else of the data plane bypasses the WAF and the
 * HTTP API's throttle through it.
 */
export const handler = streamHandle(edgeOnly(app, { edgeSecret: config.EDGE_SECRET }));
