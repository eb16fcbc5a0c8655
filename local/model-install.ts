import type { AuditLog } from '../shared/accounts/audit-log';
import { CatalogAdmin } from '../shared/catalog/catalog-admin';
import type { CatalogStore } from '../shared/catalog/catalog-store';
import type { VersionAvailability } from '../shared/catalog/types';
import type { Logger } from '../shared/logger';
import {
  chatModelFiles,
  DEFAULT_REAL_CHAT,
  HUB_CHAT_MODELS,
  installCommand,
  TEST_CHAT,
} from './models/chat-models';
import { downloadHubModel, HubUnreachableError } from './models/hub-download';
import { modelsDir } from './models/paths';

/** Each hosted variant's state as the runtime's `/ping` reports it (`endpoint/variant` -> state). */
async function runtimeStates(runtimeUrl: string): Promise<Record<string, string>> {
  const res = await fetch(new URL('/ping', runtimeUrl), { signal: AbortSignal.timeout(5_000) });
  return ((await res.json()) as { models?: Record<string, string> }).models ?? {};
}

const SYSTEM = { actor: { kind: 'system' as const, id: 'local-models' }, requestId: null };

/**
 * Makes the catalog say what the local runtime can serve: a version whose weights are not
 * downloaded (or that this runtime does not host) is recorded as not installed, with the command
 * that installs it; one that is ready, loading or failed as installed. Then keeps plain `chat` on
 * the best installed version: the real default model once it serves, the offline test model while
 * it does not. Only those two defaults are moved: an operator's other choice is left alone (and
 * every move is audited, by the system).
 */
export async function syncModelAvailability(deps: {
  runtimeUrl: string;
  catalog: CatalogStore;
  audit: AuditLog;
  onChange: () => void;
}): Promise<{ states: Record<string, string> }> {
  const states = await runtimeStates(deps.runtimeUrl);
  const catalog = await deps.catalog.load();
  let changed = false;
  for (const { versions } of catalog.models.values()) {
    for (const v of versions.values()) {
      if (v.status === 'retired') continue;
      const id = `${v.model}@${v.version}`;
      const state = states[`${v.endpointName}/${v.variant}`];
      const hub = HUB_CHAT_MODELS[id];
      const want: VersionAvailability | null =
        state === 'unavailable'
          ? {
              state: 'not_installed',
              reason: 'its weights are not downloaded',
              ...(hub ? { install: installCommand(hub) } : {}),
            }
          : state === undefined
            ? { state: 'not_installed', reason: 'the local model runtime does not host it (RUNTIME_MODELS)' }
            : null;
      if (JSON.stringify(v.availability ?? null) === JSON.stringify(want)) continue;
      await deps.catalog.setAvailability(v.model, v.version, want);
      changed = true;
    }
  }
  const chat = catalog.models.get('chat');
  const [, real] = DEFAULT_REAL_CHAT.split('@') as [string, string];
  const [, test] = TEST_CHAT.split('@') as [string, string];
  if (chat?.versions.has(real) && chat.versions.has(test)) {
    // Promoted once it answers; moved back only when it is gone (not while a crashed worker restarts).
    const realState = states[key(chat.versions.get(real)!)];
    const gone = realState === undefined || realState === 'unavailable';
    const current = chat.model.defaultVersion;
    const next = realState === 'ready' && current === test ? real : gone && current === real ? test : null;
    if (next) {
      const admin = new CatalogAdmin(deps.catalog, deps.audit);
      const done = await admin.promote(SYSTEM, 'chat', next, { makeDefault: true, aliases: ['latest'] });
      changed ||= done.ok;
    }
  }
  if (changed) deps.onChange();
  return { states };
}

const key = (v: { endpointName: string; variant: string }) => `${v.endpointName}/${v.variant}`;

export type ChatModelFetch =
  | { state: 'installed' }
  | { state: 'downloaded'; bytes: number; revision: string }
  | { state: 'offline'; detail: string }
  | { state: 'failed'; detail: string }
  | { state: 'off' };

/**
 * `npm start`'s fetch of the default real chat model, in the background: when its weights are
 * missing it downloads them (progress lines through `print`, resumable, verified), waits until the
 * runtime serves them (the runtime finds the folder by itself), and syncs the catalog so `chat`
 * resolves to it. Never throws: an offline machine keeps serving the test model, and says so.
 */
export async function fetchDefaultChatModel(deps: {
  endpoint: string;
  runtimeUrl: string;
  print: (line: string) => void;
  log: Logger;
  sync: () => Promise<{ states: Record<string, string> }>;
  stopped: () => boolean;
}): Promise<ChatModelFetch> {
  const model = HUB_CHAT_MODELS[DEFAULT_REAL_CHAT]!;
  const { states } = await deps.sync();
  const mine = Object.entries(states).find(([k]) => k.endsWith(`/${DEFAULT_REAL_CHAT.split('@')[1]}`));
  // Not hosted by this runtime (RUNTIME_MODELS): nothing would serve it.
  if (!mine) return { state: 'off' };
  if (mine[1] !== 'unavailable') return { state: 'installed' };
  let shown = -10;
  try {
    const result = await downloadHubModel({
      id: model.hubId,
      ...chatModelFiles(model.dtype),
      root: modelsDir(),
      endpoint: deps.endpoint,
      token: process.env.HF_TOKEN,
      onProgress: ({ received, total }) => {
        const pct = total === 0 ? 100 : Math.floor((received / total) * 100);
        if (pct < shown + 10 && received !== total) return;
        shown = pct;
        deps.print(
          `Chat model     downloading ${model.hubId}: ${(received / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB (${pct}%)\n`,
        );
      },
    });
    // The runtime notices the folder on its next /ping and loads it; wait for it to serve.
    const deadline = Date.now() + 120_000;
    while (!deps.stopped() && Date.now() < deadline) {
      const { states: now } = await deps.sync();
      if (now[mine[0]] === 'ready') break;
      if (now[mine[0]] === 'failed') throw new Error(`the runtime could not load ${model.hubId}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    deps.print(
      `Chat model     ${model.hubId} downloaded and verified (${(result.bytes / 1e6).toFixed(1)} MB): \`chat\` is now ${DEFAULT_REAL_CHAT}\n`,
    );
    return { state: 'downloaded', bytes: result.bytes, revision: result.revision };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    if (error instanceof HubUnreachableError) {
      deps.print(
        `Chat model     offline (${detail}): \`chat\` stays ${TEST_CHAT}, the test model; npm start resumes the download when the hub can be reached, or run: ${installCommand(model)}\n`,
      );
      return { state: 'offline', detail };
    }
    deps.log.warn({ err: error, model: model.hubId }, 'chat model download failed');
    deps.print(
      `Chat model     ${model.hubId} was not installed: ${detail}. Retry with: ${installCommand(model)}\n`,
    );
    return { state: 'failed', detail };
  }
}
