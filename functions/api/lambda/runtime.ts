import type { Context } from 'hono';
import { getConnInfo } from 'hono/aws-lambda';
import type { Config } from '#shared/config';
import { clientAddress } from '#shared/http/client-ip';
import type { Logger } from '#shared/logger';
import { metricServices } from '#shared/observability/metrics';
import { type MetricsSink, stdoutEmfMetrics } from '#shared/observability/metrics-sink';
import type { AppEnv } from '../http/env';

/** What every API function takes from the Lambda runtime, whichever plane it serves. */
export function lambdaRuntime(
  config: Config,
  log: Logger,
): { clientIp: (c: Context<AppEnv>) => string | null; metrics: MetricsSink } {
  return {
    // API Gateway's (or the Function URL's) sourceIp, which a client cannot forge with a header;
    // behind CloudFront, the viewer's address the distribution vouches for with the edge secret.
    clientIp: (c) =>
      clientAddress(getConnInfo(c).remote.address, (name) => c.req.header(name), config.EDGE_SECRET),
    // CloudWatch Embedded Metric Format on stdout: metrics without an API call per request.
    metrics: stdoutEmfMetrics({ service: metricServices.api, Stage: config.STAGE }, log),
  };
}
