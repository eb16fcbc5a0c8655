import type { BatchStore } from './batch-store';
import type { ObjectStorage } from './object-storage';
import type { WorkQueue } from './work-queue';

/** What batch routes and the batch worker work with: the records, the files' bytes, the queue. */
export interface BatchDeps {
  store: BatchStore;
  storage: ObjectStorage;
  queue: WorkQueue;
}
