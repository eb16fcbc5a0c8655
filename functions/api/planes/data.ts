import { type DataPlaneDeps, planeRoutes } from '../http/env';
import { registerV1 } from '../routes/v1';

/** The data plane's routes: `/v1/*` (shared/api-planes.ts). */
export const registerDataPlane = planeRoutes<DataPlaneDeps>((app) => {
  registerV1(app);
});
