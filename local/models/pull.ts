/**
 * `npm run models:pull -- <hugging face model id> [--dtype q8]`: downloads an ONNX text-generation
 * model (config, tokenizer, chat template, one ONNX weight file) into the models folder, in the
 * layout the runtime's transformers.js loader reads, resumable and verified (hub-download.ts). Needs
 * a reachable hub (HF_ENDPOINT): without one it fails at once and says so; the tiny test model needs
 * no download.
 *
 * Example: npm run models:pull -- HuggingFaceTB/SmolLM2-360M-Instruct
 * (served as `chat@smollm2-360m` by a running runtime within a second, and from every start after).
 * A sentence-embedding model has the same files (config, tokenizer, one ONNX file):
 * `npm run models:pull -- Xenova/all-MiniLM-L6-v2` is served as `embeddings@minilm-l6`.
 */
import { chatModelFiles, ONNX_FILES } from './chat-models';
import { downloadHubModel, HubUnreachableError } from './hub-download';
import { modelsDir } from './paths';

export async function pullModel(id: string, dtype: string, root = modelsDir()): Promise<string> {
  if (!ONNX_FILES[dtype]) {
    throw new Error(`Unknown --dtype '${dtype}'; one of ${Object.keys(ONNX_FILES).join(', ')}.`);
  }
  let shown = -1;
  const result = await downloadHubModel({
    id,
    ...chatModelFiles(dtype),
    root,
    endpoint: process.env.HF_ENDPOINT || 'https://huggingface.co',
    token: process.env.HF_TOKEN,
    onProgress: ({ received, total }) => {
      const pct = total === 0 ? 100 : Math.floor((received / total) * 100);
      if (pct >= shown + 10 || received === total) {
        shown = pct;
        console.log(`  ${(received / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB (${pct}%)`);
      }
    },
  });
  return `${result.dir} (${(result.bytes / 1e6).toFixed(1)} MB at ${result.revision}, sizes and checksums verified)`;
}

const USAGE = `usage: npm run models:pull -- <model id> [--dtype ${Object.keys(ONNX_FILES).join('|')}]
  Downloads a Hugging Face ONNX text-generation model into the models folder (default dtype q8).
  Resumes an interrupted download; refuses files whose size or checksum differs from the hub's.
  Example: npm run models:pull -- HuggingFaceTB/SmolLM2-360M-Instruct (then chat@smollm2-360m).
  Sentence-embedding models take the same files: npm run models:pull -- Xenova/all-MiniLM-L6-v2
  (then embeddings@minilm-l6, from the runtime's next start).`;
const args = process.argv.slice(2);
if (args.includes('--help')) {
  console.log(USAGE);
  process.exit(0);
}
const dtypeAt = args.indexOf('--dtype');
const dtype = dtypeAt === -1 ? 'q8' : (args[dtypeAt + 1] ?? '');
const id = args.find((a, i) => !a.startsWith('--') && !(dtypeAt !== -1 && i === dtypeAt + 1));
if (!id) {
  console.error(USAGE);
  process.exit(2);
}
try {
  console.log(`pulled ${await pullModel(id, dtype)}`);
} catch (error) {
  const offline =
    error instanceof HubUnreachableError
      ? ' Is there a network (or HF_ENDPOINT)? Run it again to resume; the offline test model chat@tiny-1 needs no download.'
      : '';
  console.error(`models:pull failed: ${error instanceof Error ? error.message : String(error)}.${offline}`);
  process.exit(1);
}
