import { parseInputFile } from '#shared/batch/jsonl';
import type { Batch } from '#shared/batch/types';
import { DynamoWorkQueue } from '#shared/batch/work-queue';
import type { BatchPlaneDeps } from '../http/env';
import { countsOf } from './service';

type Deps = Pick<BatchPlaneDeps, 'batch' | 'resolver' | 'pins'>;

/** The throughput windows, in seconds. */
export const THROUGHPUT_WINDOWS = { last_15m: 15 * 60, last_1h: 3600 } as const;

export interface BacklogBatch {
  batch: Batch;
  done: number;
  /** The versions its lines go to (`model@version`), or the refs as written when they no longer resolve. */
  versions: string[];
}

export interface VersionLoad {
  version: string;
  waiting: number;
  answered_15m: number;
  answered_1h: number;
}

export interface Backlog {
  batches: BacklogBatch[];
  versions: VersionLoad[];
  queue: { waiting: number; dead: number } | null;
}

/** Lines still to run: only an `in_progress` batch starts new lines (a cancelling one starts none). */
const runs = (b: Batch) => b.status === 'in_progress';

/**
 * The batch backlog across tenants: every batch not yet final, the lines waiting per model version
 * (where the tenant's lines go: its pins and the traffic split, as the worker will resolve them), and
 * per version the lines answered in the last 15 minutes and hour, from the line results' `at` and
 * `served` (only they say when and by which version a line was answered; the chunk counters only
 * count), over the active batches and those that ended within the hour.
 */
export async function readBacklog(deps: Deps, now: Date): Promise<Backlog> {
  const nowS = Math.floor(now.getTime() / 1000);
  const active = (await deps.batch.store.activeBatches()).sort((a, b) => a.createdAt - b.createdAt);
  const load = new Map<string, VersionLoad>();
  const at = (version: string) => {
    let v = load.get(version);
    if (!v) {
      v = { version, waiting: 0, answered_15m: 0, answered_1h: 0 };
      load.set(version, v);
    }
    return v;
  };
  /** Counts lines a version answered within the windows. */
  const answered = (marks: { at: number; served: string | null }[]) => {
    for (const m of marks) {
      if (!m.served || m.at <= nowS - THROUGHPUT_WINDOWS.last_1h) continue;
      const v = at(m.served);
      v.answered_1h++;
      if (m.at > nowS - THROUGHPUT_WINDOWS.last_15m) v.answered_15m++;
    }
  };
  const pinsOf = new Map<string, Promise<Record<string, string>>>();
  const batches: BacklogBatch[] = [];
  for (const batch of active) {
    if (!pinsOf.has(batch.tenantId)) pinsOf.set(batch.tenantId, deps.pins.forTenant(batch.tenantId));
    const pins = await pinsOf.get(batch.tenantId)!;
    const versionOf = new Map<string, string>();
    for (const ref of batch.models) {
      const r = await deps.resolver.resolve(ref, { tenantId: batch.tenantId, pins });
      versionOf.set(ref, r.ok ? `${r.model.name}@${r.version.version}` : ref);
    }
    const marks = await deps.batch.store.lineMarks(batch.id);
    answered(marks);
    const counts = await countsOf(deps, batch);
    const versions = [...new Set(versionOf.values())];
    if (runs(batch)) {
      if (versions.length === 1) {
        at(versions[0]!).waiting += Math.max(0, batch.lines - marks.length);
      } else if (versions.length > 1) {
        // Lines of several models: which lines wait, by their model, from the input file.
        const file = await deps.batch.store.getFile(batch.tenantId, batch.inputFileId);
        const bytes = file ? await deps.batch.storage.get(file.storageKey) : undefined;
        const answered = new Set(marks.map((m) => m.line));
        if (bytes) {
          for (const line of parseInputFile(bytes, { maxLines: Number.MAX_SAFE_INTEGER })) {
            if (answered.has(line.index)) continue;
            const ref = String((line.body as { model?: unknown }).model);
            at(versionOf.get(ref) ?? ref).waiting++;
          }
        }
      }
    }
    batches.push({ batch, done: counts.completed + counts.failed, versions });
  }
  // Lines of batches that ended within the hour count towards throughput too.
  for (const batch of await deps.batch.store.finishedSince(nowS - THROUGHPUT_WINDOWS.last_1h, nowS)) {
    answered(await deps.batch.store.lineMarks(batch.id));
  }
  const queue = deps.batch.queue instanceof DynamoWorkQueue ? await deps.batch.queue.depth() : null;
  return {
    batches,
    versions: [...load.values()].sort(
      (a, b) => b.waiting - a.waiting || b.answered_1h - a.answered_1h || a.version.localeCompare(b.version),
    ),
    queue,
  };
}
