/**
 * A self-built sentence-embedding test model in the layout of the hub's ONNX BERT models
 * (Xenova/all-MiniLM-L6-v2): `config.json` (model_type bert), a WordPiece `tokenizer.json` and
 * `onnx/model.onnx` answering `last_hidden_state` for `input_ids` and `attention_mask`. The
 * weights are random with a fixed seed: its vectors carry no meaning, but they come from real
 * inference through transformers.js' `feature-extraction` pipeline, so the code that serves a
 * real model pulled into the same layout is tested offline with it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { prng } from './tiny-chat';

const { onnx } = onnxProto;

export const TINY_EMBEDDING_ID = 'tollgate-tiny-embedding';
export const TINY_EMBEDDING_HIDDEN = 16;

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'];
const CHARS = [...'abcdefghijklmnopqrstuvwxyz0123456789'];
const PUNCTUATION = [...'.,!?;:\'"-()'];
/** Whole characters, their `##` continuations and punctuation: any ASCII text tokenizes. */
const VOCAB = [...SPECIALS, ...CHARS, ...CHARS.map((c) => `##${c}`), ...PUNCTUATION];

function floats(name: string, dims: number[], rand: () => number): onnxProto.onnx.ITensorProto {
  const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, rand);
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer) };
}

function tensorInfo(
  name: string,
  elemType: number,
  dims: (number | string)[],
): onnxProto.onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

/** Embedding lookup, one dense layer with a residual, tanh, and padding zeroed by the mask. */
export function buildTinyEmbeddingOnnx(): Uint8Array {
  const H = TINY_EMBEDDING_HIDDEN;
  // Weights centred on 0.
  const uniform = prng(20_261_201);
  const rand = () => uniform() - 0.5;
  const F = onnx.TensorProto.DataType.FLOAT;
  const I64 = onnx.TensorProto.DataType.INT64;
  const axes = BigInt64Array.from([2n]);
  const node = (opType: string, input: string[], output: string[], attribute: object[] = []) => ({
    opType,
    input,
    output,
    name: output[0],
    attribute,
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'tollgate',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'tiny_embedding',
      initializer: [
        floats('embeddings', [VOCAB.length, H], rand),
        floats('dense', [H, H], rand),
        { name: 'axes', dims: [1], dataType: I64, rawData: new Uint8Array(axes.buffer) },
      ],
      node: [
        node('Gather', ['embeddings', 'input_ids'], ['embedded']),
        node('MatMul', ['embedded', 'dense'], ['mixed']),
        node('Add', ['mixed', 'embedded'], ['residual']),
        node('Tanh', ['residual'], ['activated']),
        node('Cast', ['attention_mask'], ['mask_f'], [{ name: 'to', type: 2, i: F }]),
        node('Unsqueeze', ['mask_f', 'axes'], ['mask']),
        node('Mul', ['activated', 'mask'], ['last_hidden_state']),
      ],
      input: [
        tensorInfo('input_ids', I64, ['batch', 'sequence']),
        tensorInfo('attention_mask', I64, ['batch', 'sequence']),
      ],
      output: [tensorInfo('last_hidden_state', F, ['batch', 'sequence', H])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** The JSON files beside the graph, as the hub's BERT-tokenizer models have them. */
export function tinyEmbeddingFiles(): Record<string, unknown> {
  const vocab = Object.fromEntries(VOCAB.map((token, id) => [token, id]));
  const special = (content: string, id: number) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    'config.json': {
      _name_or_path: TINY_EMBEDDING_ID,
      architectures: ['BertModel'],
      model_type: 'bert',
      hidden_size: TINY_EMBEDDING_HIDDEN,
      num_attention_heads: 1,
      num_hidden_layers: 1,
      vocab_size: VOCAB.length,
      max_position_embeddings: 512,
      pad_token_id: 0,
    },
    'tokenizer.json': {
      version: '1.0',
      truncation: { direction: 'Right', max_length: 128, strategy: 'LongestFirst', stride: 0 },
      padding: null,
      added_tokens: SPECIALS.map(special),
      normalizer: {
        type: 'BertNormalizer',
        clean_text: true,
        handle_chinese_chars: true,
        strip_accents: null,
        lowercase: true,
      },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [
          { SpecialToken: { id: '[CLS]', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: '[SEP]', type_id: 0 } },
        ],
        pair: [],
        special_tokens: {
          '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
          '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
        },
      },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: '[UNK]',
        continuing_subword_prefix: '##',
        max_input_chars_per_word: 100,
        vocab,
      },
    },
    'tokenizer_config.json': {
      tokenizer_class: 'BertTokenizer',
      do_lower_case: true,
      model_max_length: 128,
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      pad_token: '[PAD]',
      unk_token: '[UNK]',
    },
  };
}

/** Writes the model folder (tests build it where they like; the runtime never serves it by default). */
export async function writeTinyEmbeddingModel(root: string): Promise<string> {
  const dir = join(root, TINY_EMBEDDING_ID);
  await mkdir(join(dir, 'onnx'), { recursive: true });
  await writeFile(join(dir, 'onnx', 'model.onnx'), buildTinyEmbeddingOnnx());
  for (const [name, content] of Object.entries(tinyEmbeddingFiles()))
    await writeFile(join(dir, name), `${JSON.stringify(content, null, 2)}\n`);
  return dir;
}
