import { chatWireOf } from '../../shared/catalog/chat-wire';
import { seedCatalog } from '../../shared/catalog/seed';
import { ensureTinyChatModel } from '../models/build-test-model';
import { HUB_CHAT_MODELS, type HubChatModel, installCommand } from '../models/chat-models';
import { modelsDir } from '../models/paths';
import { TINY_CHAT_ID } from '../models/tiny-chat';
import type { ModelHandler } from './model-handler';
import { createChatModel } from './models/chat';
import { FeatureExtractionModel } from './models/feature-extraction';
import { createImageModerationModel } from './models/image-moderation';
import { createPpocrModel, createTesseractModel } from './models/ocr';
import { createSentimentModel } from './models/sentiment';
import { tgiMessagesHandler } from './models/tgi-messages';
import { createWordVectorModel } from './models/word-vectors';
import type { WorkerModelOptions } from './worker-model';

// Models import these from model-handler directly, so this module can import the models without a cycle.
export type { ModelHandler } from './model-handler';
export { ModelInputError, ModelNotReadyError } from './model-handler';

/**
 * Per-variant concurrency: `maxInFlight` invocations run at once, `maxQueue` more may wait (per
 * priority); of those running, at most `maxBatchInFlight` are batch lines (default 1).
 */
export type VariantCapacity = { maxInFlight: number; maxQueue: number; maxBatchInFlight?: number };

export type EndpointConfig = {
  defaultVariant: string;
  variants: Map<string, ModelHandler>;
  /** Overrides the server-wide capacity for every variant of this endpoint. */
  capacity?: VariantCapacity;
};

/** Endpoint name -> its variants, as SageMaker would have them deployed. */
export type EndpointRegistry = Map<string, EndpointConfig>;

/** Builds one endpoint entry; the first variant listed is the default unless told otherwise. */
export function endpoint(
  variants: Record<string, ModelHandler>,
  options: { defaultVariant?: string; capacity?: VariantCapacity } = {},
): EndpointConfig {
  const entries = Object.entries(variants);
  const defaultVariant = options.defaultVariant ?? entries[0]?.[0];
  if (defaultVariant === undefined || !(defaultVariant in variants)) {
    throw new Error(`endpoint needs at least one variant and a valid default (got ${defaultVariant})`);
  }
  const config: EndpointConfig = { defaultVariant, variants: new Map(entries) };
  if (options.capacity) config.capacity = options.capacity;
  return config;
}

/** A real chat model from the hub: not installed until its weights are downloaded (then it loads by itself). */
const hubChat = (m: HubChatModel) => () =>
  createChatModel({
    modelId: m.hubId,
    modelsRoot: modelsDir(),
    dtype: m.dtype,
    optional: { pullHint: `Fetch them with: ${installCommand(m)}` },
  });

const MINILM_ID = 'Xenova/all-MiniLM-L6-v2';

type WorkerHooks = Pick<WorkerModelOptions, 'onEvent'>;

/** Which local model implements each catalog version (`model@version`). A new version is one line here. */
const implementations: Record<string, (hooks: WorkerHooks) => ModelHandler> = {
  'sentiment@v1': createSentimentModel,
  // Built on first start (a few ms), so a clean clone serves chat offline.
  'chat@tiny-1': () =>
    createChatModel({
      modelId: TINY_CHAT_ID,
      modelsRoot: modelsDir(),
      prepare: async () => {
        await ensureTinyChatModel(modelsDir());
      },
    }),
  ...Object.fromEntries(Object.entries(HUB_CHAT_MODELS).map(([id, m]) => [id, hubChat(m)])),
  'image-moderation@mobilenet-v2': (hooks) => createImageModerationModel('MobileNetV2', hooks),
  'image-moderation@mobilenet-v2-mid': (hooks) => createImageModerationModel('MobileNetV2Mid', hooks),
  'image-moderation@inception-v3': (hooks) => createImageModerationModel('InceptionV3', hooks),
  'ocr@ppocr-v4': (hooks) => createPpocrModel(hooks),
  'ocr@tesseract-5': (hooks) => createTesseractModel(hooks),
  // The first start converts the package's vectors once (seconds, in its worker); later starts load in ~0.1 s.
  'embeddings@wink-100d': (hooks) => createWordVectorModel(hooks),
  // Not installed until `npm run models:pull` fetches its weights; served from the next start.
  'embeddings@minilm-l6': (hooks) =>
    new FeatureExtractionModel(
      {
        modelId: MINILM_ID,
        modelsRoot: modelsDir(),
        dtype: 'q8',
        pullHint: `Fetch them with: npm run models:pull -- ${MINILM_ID}`,
      },
      hooks,
    ),
};

/**
 * Models that run in a worker thread, one call at a time: a bounded queue in front of each, so a
 * burst waits a little or is turned away with 503 at once, never piles up without bound.
 */
const WORKER_CAPACITY: Record<string, VariantCapacity> = {
  'image-moderation': { maxInFlight: 1, maxQueue: 16 },
  ocr: { maxInFlight: 1, maxQueue: 8 },
  embeddings: { maxInFlight: 1, maxQueue: 32 },
};

/**
 * Parses RUNTIME_MODELS (`sentiment,image-moderation@mobilenet-v2,ocr`): a model name takes all its
 * versions. Empty or unset means every version. Unknown names are an error, so a typo is not silent.
 */
export function parseModelSelection(value: string | undefined, stage = 'local'): Set<string> | undefined {
  if (value === undefined || value.trim() === '' || value.trim() === 'all') return undefined;
  const known = seedCatalog(stage).versions.map((v) => `${v.model}@${v.version}`);
  const selected = new Set<string>();
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const matches = known.filter((k) => k === item || k.startsWith(`${item}@`));
    if (matches.length === 0)
      throw new Error(`RUNTIME_MODELS: no model or version '${item}' (known: ${known.join(', ')})`);
    for (const m of matches) selected.add(m);
  }
  return selected;
}

/**
 * The endpoints the local stack serves: the endpoints and variants of the seed catalog for
 * `stage`, so the gateway's routing and the runtime cannot disagree. `only` hosts a subset (a test
 * file that needs one model does not pay for loading the others); versions left out answer as an
 * unknown variant.
 */
export function createDefaultRegistry(
  stage: string,
  options: {
    only?: Set<string>;
    hooks?: WorkerHooks;
    /** `LLM_WIRE_VERSIONS`: chat versions served in TGI's format besides those TGI serves in AWS. */
    tgiVersions?: ReadonlySet<string>;
  } = {},
): EndpointRegistry {
  const variantsByEndpoint = new Map<string, { model: string; variants: Record<string, ModelHandler> }>();
  const catalog = seedCatalog(stage);
  const chatModels = new Set(catalog.models.filter((m) => m.task === 'chat').map((m) => m.name));
  for (const v of catalog.versions) {
    const id = `${v.model}@${v.version}`;
    if (options.only && !options.only.has(id)) continue;
    const make = implementations[id];
    if (!make) throw new Error(`no local implementation for ${id}`);
    const entry = variantsByEndpoint.get(v.endpointName) ?? { model: v.model, variants: {} };
    const handler = make(options.hooks ?? {});
    // A chat version whose container in AWS is TGI answers in TGI's format here too, so the
    // gateway speaks to it exactly as it will there.
    entry.variants[v.variant] =
      chatModels.has(v.model) && chatWireOf(id, options.tgiVersions) === 'tgi-messages'
        ? tgiMessagesHandler(handler, {
            modelId: HUB_CHAT_MODELS[id]?.hubId ?? TINY_CHAT_ID,
            ...(v.limits.maxInputTokens !== undefined ? { maxInputTokens: v.limits.maxInputTokens } : {}),
          })
        : handler;
    variantsByEndpoint.set(v.endpointName, entry);
  }
  return new Map(
    [...variantsByEndpoint].map(([name, { model, variants }]) => {
      const capacity = WORKER_CAPACITY[model];
      return [name, endpoint(variants, capacity ? { capacity } : {})];
    }),
  );
}

/** Every distinct handler of a registry. */
export function handlersOf(registry: EndpointRegistry): Set<ModelHandler> {
  const handlers = new Set<ModelHandler>();
  for (const config of registry.values())
    for (const handler of config.variants.values()) handlers.add(handler);
  return handlers;
}

/**
 * Loads every distinct model of the registry once (a handler shared by variants loads once).
 * Worker-thread models only start loading here and report their readiness until done.
 */
export async function loadRegistry(registry: EndpointRegistry): Promise<void> {
  await Promise.all([...handlersOf(registry)].map((handler) => handler.load()));
}
