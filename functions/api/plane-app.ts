import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from '../../shared/errors';
import type { AppEnv, CoreDeps } from './http/env';
import { handleError, handleNotFound, validationHook } from './http/errors';
import { cors } from './middleware/cors';
import { requestContext } from './middleware/request-context';
import { securityHeaders } from './middleware/security-headers';

/**
 * A Hono app with the API's common middleware and error handling around the routes `register`
 * mounts (one plane's, or several). Imports no route and no runtime adapter: a plane's Lambda
 * entry bundles only the routes it passes.
 */
export function createPlaneApp<D extends CoreDeps>(
  deps: D,
  ...register: ((app: OpenAPIHono<AppEnv<D>>) => void)[]
): OpenAPIHono<AppEnv<D>> {
  const app = new OpenAPIHono<AppEnv<D>>({ defaultHook: validationHook });
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
  for (const r of register) r(app);
  app.onError(handleError);
  app.notFound(handleNotFound);
  return app;
}
