import { seedCatalog } from '../../shared/catalog/seed';
import { ensureTinyChatModel } from '../models/build-test-model';
import { modelsDir } from '../models/paths';
import { TINY_CHAT_ID } from '../models/tiny-chat';
import type { ModelHandler } from './model-handler';
import { createChatModel } from './models/chat';
import { createSentimentModel } from './models/sentiment';

// Models import these from model-handler directly, so this module can import the models without a cycle.
export type { ModelHandler } from './model-handler';
export { ModelInputError, ModelNotReadyError } from './model-handler';

/** Per-variant concurrency: `maxInFlight` invocations run at once, `maxQueue` more may wait. */
export type VariantCapacity = { maxInFlight: number; maxQueue: number };

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

const SMOLLM2_ID = 'HuggingFaceTB/SmolLM2-135M-Instruct';

/** Which local model implements each catalog version (`model@version`). A new version is one line here. */
const implementations: Record<string, () => ModelHandler> = {
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
  'chat@smollm2-135m': () =>
    createChatModel({
      modelId: SMOLLM2_ID,
      modelsRoot: modelsDir(),
      dtype: 'q8',
      optional: { pullHint: `Fetch them with: npm run models:pull -- ${SMOLLM2_ID}` },
    }),
};

/**
 * The endpoints the local stack serves: exactly the endpoints and variants of the seed catalog
 * for `stage`, so the gateway's routing and the runtime cannot disagree.
 */
export function createDefaultRegistry(stage: string): EndpointRegistry {
  const variantsByEndpoint = new Map<string, Record<string, ModelHandler>>();
  for (const v of seedCatalog(stage).versions) {
    const make = implementations[`${v.model}@${v.version}`];
    if (!make) throw new Error(`no local implementation for ${v.model}@${v.version}`);
    const variants = variantsByEndpoint.get(v.endpointName) ?? {};
    variants[v.variant] = make();
    variantsByEndpoint.set(v.endpointName, variants);
  }
  return new Map([...variantsByEndpoint].map(([name, variants]) => [name, endpoint(variants)]));
}

/** Loads every distinct model of the registry once (a handler shared by variants loads once). */
export async function loadRegistry(registry: EndpointRegistry): Promise<void> {
  const handlers = new Set<ModelHandler>();
  for (const config of registry.values())
    for (const handler of config.variants.values()) handlers.add(handler);
  await Promise.all([...handlers].map((handler) => handler.load()));
}
