// Worker threads start without the parent's TypeScript loader when the parent is not itself under
// tsx (vitest, for one): register it here, then load the worker module named in workerData.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
