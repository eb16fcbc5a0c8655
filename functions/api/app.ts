import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from '../../shared/errors';
import type { ApiDeps, AppEnv } from './env';
import { handleError, handleNotFound, validationHook } from './errors';
import { cors } from './middleware/cors';
import { requestContext } from './middleware/request-context';
import { securityHeaders } from './middleware/security-headers';
import { registerAccount } from './routes/account';
import { registerAdmin } from './routes/admin';
import { registerAuth } from './routes/auth';
import { registerDocs } from './routes/docs';
import { registerV1 } from './routes/v1';
import { registerStripeWebhook } from './routes/webhooks/stripe';

/**
 * The API as a Hono app, built from its dependencies and importing no runtime adapter: the
 * Lambda entry wraps it with `hono/aws-lambda`, the local server mounts it on Node.
 */
export function createApiApp(deps: ApiDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.use('*', requestContext(deps));
  app.use('*', securityHeaders({ publicUrl: deps.config.PUBLIC_URL }));
  app.use('*', cors({ publicUrl: deps.config.PUBLIC_URL, consoleOrigins: deps.config.CONSOLE_ORIGINS }));
  app.use(
    '*',
    bodyLimit({
      maxSize: deps.config.MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(
          'request_too_large',
          `The request body is larger than ${deps.config.MAX_BODY_BYTES} bytes.`,
        );
      },
    }),
  );
  registerV1(app);
  registerAuth(app);
  registerAccount(app);
  registerAdmin(app);
  registerStripeWebhook(app);
  registerDocs(app);
  app.onError(handleError);
  app.notFound(handleNotFound);
  return app;
}
