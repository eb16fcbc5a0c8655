/**
 * The real chat models the local runtime can serve, by catalog version. Their weights are not in
 * the repository: `npm start` fetches the default one when it is missing and the hub can be
 * reached; `npm run models:pull` fetches any of them. Kept apart from the runtime's registry so
 * the local stack can name them without loading any model code.
 */
export type HubChatModel = {
  /** Hugging Face hub id: also the folder under the models folder. */
  hubId: string;
  /** Which ONNX weights (`q8` is `onnx/model_quantized.onnx`). */
  dtype: 'q8';
};

export const HUB_CHAT_MODELS: Record<string, HubChatModel> = {
  // 360M parameters at int8: about 0.4 GB, answers simple questions sensibly on a laptop CPU.
  'chat@smollm2-360m': { hubId: 'HuggingFaceTB/SmolLM2-360M-Instruct', dtype: 'q8' },
  'chat@smollm2-135m': { hubId: 'HuggingFaceTB/SmolLM2-135M-Instruct', dtype: 'q8' },
};

/** The version `npm start` fetches and makes the default of `chat` once it serves. */
export const DEFAULT_REAL_CHAT = 'chat@smollm2-360m';
/** The offline test model: what `chat` serves until a real model is installed. */
export const TEST_CHAT = 'chat@tiny-1';

/** transformers.js' file name for each dtype it can load. */
export const ONNX_FILES: Record<string, string> = {
  fp32: 'model.onnx',
  fp16: 'model_fp16.onnx',
  q8: 'model_quantized.onnx',
  int8: 'model_int8.onnx',
  uint8: 'model_uint8.onnx',
  q4: 'model_q4.onnx',
  q4f16: 'model_q4f16.onnx',
  bnb4: 'model_bnb4.onnx',
};

/** The files a text-generation model needs, in the hub's layout. */
export function chatModelFiles(dtype: string): { files: string[]; optional: string[] } {
  return {
    files: ['config.json', 'tokenizer.json', 'tokenizer_config.json', `onnx/${ONNX_FILES[dtype]}`],
    optional: ['generation_config.json', 'special_tokens_map.json'],
  };
}

export const installCommand = (m: HubChatModel) => `npm run models:pull -- ${m.hubId}`;
