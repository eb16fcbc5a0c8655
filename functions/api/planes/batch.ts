import { type BatchPlaneDeps, planeRoutes } from '../http/env';
import { registerAccountBatches } from '../routes/account/batches';
import { registerAdminBatches } from '../routes/admin/batches/backlog';
import { mountV1Middleware } from '../routes/v1';
import { registerBatchCreate } from '../routes/v1/batches/create';
import { registerBatchReads } from '../routes/v1/batches/read';
import { registerFileCreate } from '../routes/v1/files/create';
import { registerFileDelete } from '../routes/v1/files/delete';
import { registerFileReads } from '../routes/v1/files/read';

/**
 * The batch plane's routes: OpenAI's Files and Batches APIs (`/v1/files`, `/v1/batches`), and the
 * consoles' batch pages (`/account/batches*` behind a user's session, `/admin/batches` an operator's).
 */
export const registerBatchPlane = planeRoutes<BatchPlaneDeps>((app) => {
  mountV1Middleware(app);
  registerFileCreate(app);
  registerFileReads(app);
  registerFileDelete(app);
  registerBatchCreate(app);
  registerBatchReads(app);
  registerAccountBatches(app);
  registerAdminBatches(app);
});
