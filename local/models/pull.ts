/**
 * `npm run models:pull -- <hugging face model id> [--dtype q8]`: downloads an ONNX text-generation
 * model (config, tokenizer, chat template, one ONNX weight file) into the models folder, in the
 * layout the runtime's transformers.js loader reads. Needs internet access: where there is none
 * (these development machines) it fails at once and says so; the tiny test model needs no download.
 *
 * Example: npm run models:pull -- HuggingFaceTB/SmolLM2-135M-Instruct
 * (served as `chat@smollm2-135m` at the runtime's next start).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { modelsDir } from './paths';

/** transformers.js' file name for each dtype it can load. */
const ONNX_FILES: Record<string, string> = {
  fp32: 'model.onnx',
  fp16: 'model_fp16.onnx',
  q8: 'model_quantized.onnx',
  int8: 'model_int8.onnx',
  uint8: 'model_uint8.onnx',
  q4: 'model_q4.onnx',
  q4f16: 'model_q4f16.onnx',
  bnb4: 'model_bnb4.onnx',
};
const REQUIRED = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
const OPTIONAL = ['generation_config.json', 'special_tokens_map.json'];
const ID_RE = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

class PullError extends Error {}

async function download(base: string, file: string, to: string, required: boolean): Promise<boolean> {
  const url = `${base}/${file}`;
  let response: Response;
  try {
    const headers: Record<string, string> = process.env.HF_TOKEN
      ? { authorization: `Bearer ${process.env.HF_TOKEN}` }
      : {};
    response = await fetch(url, { headers, redirect: 'follow', signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    const cause = (error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new PullError(
      `Could not reach ${new URL(url).host} (${cause}). This machine seems to have no internet access; ` +
        'pulling real weights needs it. The tiny test model (chat@tiny-1) is built locally and needs none.',
    );
  }
  if (response.status === 404 && !required) return false;
  if (!response.ok || !response.body) {
    throw new PullError(`${url} answered ${response.status} ${response.statusText}.`);
  }
  await mkdir(dirname(join(to, file)), { recursive: true });
  await pipeline(Readable.fromWeb(response.body as never), createWriteStream(join(to, file)));
  return true;
}

export async function pullModel(id: string, dtype: string, root = modelsDir()): Promise<string> {
  if (!ID_RE.test(id))
    throw new PullError(`'${id}' is not a model id like HuggingFaceTB/SmolLM2-135M-Instruct.`);
  const onnxFile = ONNX_FILES[dtype];
  if (!onnxFile)
    throw new PullError(`Unknown --dtype '${dtype}'; one of ${Object.keys(ONNX_FILES).join(', ')}.`);
  const endpoint = (process.env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/$/, '');
  const base = `${endpoint}/${id}/resolve/main`;
  const target = join(root, id);
  const tmp = `${target}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    for (const file of REQUIRED) await download(base, file, tmp, true);
    for (const file of OPTIONAL) await download(base, file, tmp, false);
    await download(base, `onnx/${onnxFile}`, tmp, true);
    await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  const size = (await stat(join(target, 'onnx', onnxFile))).size;
  return `${target} (onnx/${onnxFile}, ${(size / 1e6).toFixed(1)} MB)`;
}

const USAGE = `usage: npm run models:pull -- <model id> [--dtype ${Object.keys(ONNX_FILES).join('|')}]
  Downloads a Hugging Face ONNX text-generation model into the models folder (default dtype q8).
  Example: npm run models:pull -- HuggingFaceTB/SmolLM2-135M-Instruct (then chat@smollm2-135m).`;
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
  console.error(`models:pull failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
