import { type ConsolePlaneDeps, planeRoutes } from '../http/env';
import { registerAccount } from '../routes/account';
import { registerAdmin } from '../routes/admin';
import { registerAuth } from '../routes/auth';
import { registerPublicPricing } from '../routes/public/pricing';

/** The console plane's routes: `/auth/*`, `/.well-known/*`, `/account/*` but billing, `/admin/*`, `/public/*`. */
export const registerConsolePlane = planeRoutes<ConsolePlaneDeps>((app) => {
  registerAuth(app);
  registerAccount(app);
  registerAdmin(app);
  registerPublicPricing(app);
});
