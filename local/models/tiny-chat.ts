/**
 * The project's own test model: a GPT-2-shaped decoder (2 layers, KV cache, causal attention) as an
 * ONNX graph with random but fixed-seed weights, plus a byte-level tokenizer with a ChatML template.
 * It is built here rather than downloaded so that a clean clone runs chat offline: the output is
 * gibberish, but every byte of it comes from real inference through transformers.js, the token
 * counts come from its tokenizer, and the same seed gives the same model (and greedy output) on
 * every machine. `npm run models:pull` fetches real weights into the same layout when online.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;
type IValueInfo = onnxProto.onnx.IValueInfoProto;

/** Bump when the graph, weights or tokenizer change: runtimes rebuild folders of another version. */
export const TINY_CHAT_BUILD = 'tollgate-tiny-chat/3';
export const TINY_CHAT_ID = 'tollgate-tiny-chat';

export const TINY_CHAT_SHAPE = {
  layers: 2,
  heads: 4,
  embd: 64,
  positions: 2048,
  seed: 20_260_101,
} as const;

export const SPECIAL_TOKENS = {
  endOfText: '<|endoftext|>',
  imStart: '<|im_start|>',
  imEnd: '<|im_end|>',
} as const;
const SPECIALS = [SPECIAL_TOKENS.endOfText, SPECIAL_TOKENS.imStart, SPECIAL_TOKENS.imEnd];
const VOCAB = 256 + SPECIALS.length;
const EOT_ID = 256;
const IM_START_ID = 257;
const IM_END_ID = 258;

/** ChatML, as SmolLM2-Instruct and many small instruct models use it. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** mulberry32 in [0, 1): small, fast and identical on every platform, which Math.random is not. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function normals(rand: () => number, count: number, std: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

function floatTensor(name: string, dims: number[], data: Float32Array): ITensor {
  return {
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

function int64Tensor(name: string, dims: number[], values: number[]): ITensor {
  const data = BigInt64Array.from(values.map(BigInt));
  return {
    name,
    dims,
    dataType: onnx.TensorProto.DataType.INT64,
    rawData: new Uint8Array(data.buffer),
  };
}

type Attr = number | number[] | string;

function node(op: string, inputs: string[], outputs: string[], attrs: Record<string, Attr> = {}): INode {
  const attribute = Object.entries(attrs).map(([name, value]) => {
    const A = onnx.AttributeProto.AttributeType;
    if (Array.isArray(value)) return { name, type: A.INTS, ints: value };
    if (typeof value === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(value) };
    return Number.isInteger(value) && name !== 'epsilon'
      ? { name, type: A.INT, i: value }
      : { name, type: A.FLOAT, f: value };
  });
  return { opType: op, input: inputs, output: outputs, name: outputs[0] ?? op, attribute };
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): IValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** The ONNX graph, serialised. */
export function buildTinyChatOnnx(): Uint8Array {
  const { layers, heads, embd, positions, seed } = TINY_CHAT_SHAPE;
  const headDim = embd / heads;
  const rand = prng(seed);
  const F = onnx.TensorProto.DataType.FLOAT;
  const I64 = onnx.TensorProto.DataType.INT64;
  const init: ITensor[] = [];
  const nodes: INode[] = [];
  const weight = (name: string, dims: number[], std: number) =>
    init.push(
      floatTensor(
        name,
        dims,
        normals(
          rand,
          dims.reduce((a, b) => a * b, 1),
          std,
        ),
      ),
    );
  const filled = (name: string, dims: number[], value: number) =>
    init.push(floatTensor(name, dims, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value)));

  weight('wte', [VOCAB, embd], 1);
  weight('wpe', [positions, embd], 0.5);
  init.push(int64Tensor('axes_0', [1], [0]));
  init.push(int64Tensor('axes_1_2', [2], [1, 2]));
  init.push(int64Tensor('axes_1_3', [2], [1, 3]));
  init.push(int64Tensor('zero', [], [0]));
  init.push(int64Tensor('one', [], [1]));
  init.push(int64Tensor('split_qkv', [3], [embd, embd, embd]));
  init.push(int64Tensor('shape_heads', [4], [0, 0, heads, headDim]));
  init.push(int64Tensor('shape_embd', [3], [0, 0, embd]));
  filled('scale', [], 1 / Math.sqrt(headDim));
  filled('neg_inf', [], -1e9);
  filled('half', [], 0.5);
  filled('f_one', [], 1);
  filled('sqrt2', [], Math.SQRT2);

  nodes.push(node('Gather', ['wte', 'input_ids'], ['tok_emb'], { axis: 0 }));
  nodes.push(node('Gather', ['wpe', 'position_ids'], ['pos_emb'], { axis: 0 }));
  nodes.push(node('Add', ['tok_emb', 'pos_emb'], ['h_0']));

  // Allowed (query, key) pairs: the key is not in the query's future and is not padding.
  nodes.push(node('Shape', ['attention_mask'], ['total_len_1'], { start: 1, end: 2 }));
  nodes.push(node('Squeeze', ['total_len_1', 'axes_0'], ['total_len']));
  nodes.push(node('Range', ['zero', 'total_len', 'one'], ['key_pos']));
  nodes.push(node('Unsqueeze', ['position_ids', 'axes_1_3'], ['query_pos']));
  nodes.push(node('LessOrEqual', ['key_pos', 'query_pos'], ['causal']));
  nodes.push(node('Cast', ['attention_mask'], ['mask_bool'], { to: onnx.TensorProto.DataType.BOOL }));
  nodes.push(node('Unsqueeze', ['mask_bool', 'axes_1_2'], ['mask_4d']));
  nodes.push(node('And', ['causal', 'mask_4d'], ['allowed']));

  const inputs: IValueInfo[] = [
    valueInfo('input_ids', I64, ['batch_size', 'sequence_length']),
    valueInfo('attention_mask', I64, ['batch_size', 'total_sequence_length']),
    valueInfo('position_ids', I64, ['batch_size', 'sequence_length']),
  ];
  const outputs: IValueInfo[] = [valueInfo('logits', F, ['batch_size', 'sequence_length', VOCAB])];

  let h = 'h_0';
  for (let l = 0; l < layers; l++) {
    const p = (s: string) => `l${l}_${s}`;
    filled(p('ln1_g'), [embd], 1);
    filled(p('ln1_b'), [embd], 0);
    weight(p('w_qkv'), [embd, 3 * embd], 0.3);
    filled(p('b_qkv'), [3 * embd], 0);
    weight(p('w_o'), [embd, embd], 0.2);
    filled(p('b_o'), [embd], 0);
    filled(p('ln2_g'), [embd], 1);
    filled(p('ln2_b'), [embd], 0);
    weight(p('w_fc'), [embd, 4 * embd], 0.2);
    filled(p('b_fc'), [4 * embd], 0);
    weight(p('w_proj'), [4 * embd, embd], 0.1);
    filled(p('b_proj'), [embd], 0);

    const pastKey = `past_key_values.${l}.key`;
    const pastValue = `past_key_values.${l}.value`;
    const presentKey = `present.${l}.key`;
    const presentValue = `present.${l}.value`;
    inputs.push(valueInfo(pastKey, F, ['batch_size', heads, 'past_sequence_length', headDim]));
    inputs.push(valueInfo(pastValue, F, ['batch_size', heads, 'past_sequence_length', headDim]));
    outputs.push(valueInfo(presentKey, F, ['batch_size', heads, 'total_sequence_length', headDim]));
    outputs.push(valueInfo(presentValue, F, ['batch_size', heads, 'total_sequence_length', headDim]));

    nodes.push(
      node('LayerNormalization', [h, p('ln1_g'), p('ln1_b')], [p('x')], { axis: -1, epsilon: 1e-5 }),
      node('MatMul', [p('x'), p('w_qkv')], [p('qkv_mm')]),
      node('Add', [p('qkv_mm'), p('b_qkv')], [p('qkv')]),
      node('Split', [p('qkv'), 'split_qkv'], [p('q'), p('k'), p('v')], { axis: 2 }),
    );
    for (const part of ['q', 'k', 'v']) {
      nodes.push(
        node('Reshape', [p(part), 'shape_heads'], [p(`${part}_heads`)]),
        node('Transpose', [p(`${part}_heads`)], [p(`${part}_4d`)], { perm: [0, 2, 1, 3] }),
      );
    }
    nodes.push(
      node('Concat', [pastKey, p('k_4d')], [presentKey], { axis: 2 }),
      node('Concat', [pastValue, p('v_4d')], [presentValue], { axis: 2 }),
      node('Transpose', [presentKey], [p('k_t')], { perm: [0, 1, 3, 2] }),
      node('MatMul', [p('q_4d'), p('k_t')], [p('scores_raw')]),
      node('Mul', [p('scores_raw'), 'scale'], [p('scores')]),
      node('Where', ['allowed', p('scores'), 'neg_inf'], [p('scores_masked')]),
      node('Softmax', [p('scores_masked')], [p('probs')], { axis: -1 }),
      node('MatMul', [p('probs'), presentValue], [p('ctx_4d')]),
      node('Transpose', [p('ctx_4d')], [p('ctx_t')], { perm: [0, 2, 1, 3] }),
      node('Reshape', [p('ctx_t'), 'shape_embd'], [p('ctx')]),
      node('MatMul', [p('ctx'), p('w_o')], [p('attn_mm')]),
      node('Add', [p('attn_mm'), p('b_o')], [p('attn')]),
      node('Add', [h, p('attn')], [p('h_attn')]),
      node('LayerNormalization', [p('h_attn'), p('ln2_g'), p('ln2_b')], [p('x2')], {
        axis: -1,
        epsilon: 1e-5,
      }),
      node('MatMul', [p('x2'), p('w_fc')], [p('fc_mm')]),
      node('Add', [p('fc_mm'), p('b_fc')], [p('fc')]),
      // GELU as 0.5 x (1 + erf(x / sqrt 2)): ops every runtime has since opset 13.
      node('Div', [p('fc'), 'sqrt2'], [p('fc_s')]),
      node('Erf', [p('fc_s')], [p('fc_erf')]),
      node('Add', [p('fc_erf'), 'f_one'], [p('fc_erf1')]),
      node('Mul', [p('fc'), p('fc_erf1')], [p('fc_x')]),
      node('Mul', [p('fc_x'), 'half'], [p('gelu')]),
      node('MatMul', [p('gelu'), p('w_proj')], [p('proj_mm')]),
      node('Add', [p('proj_mm'), p('b_proj')], [p('mlp')]),
      node('Add', [p('h_attn'), p('mlp')], [p('h')]),
    );
    h = p('h');
  }

  filled('lnf_g', [embd], 1);
  filled('lnf_b', [embd], 0);
  weight('w_lm', [embd, VOCAB], 0.35);
  // Printable ASCII, newline and the end-of-turn token only: the gibberish stays readable, valid UTF-8.
  const bias = new Float32Array(VOCAB).fill(-30);
  for (let b = 32; b < 127; b++) bias[b] = 0;
  bias[10] = -2;
  bias[IM_END_ID] = -1;
  init.push(floatTensor('b_lm', [VOCAB], bias));
  nodes.push(
    node('LayerNormalization', [h, 'lnf_g', 'lnf_b'], ['hf'], { axis: -1, epsilon: 1e-5 }),
    node('MatMul', ['hf', 'w_lm'], ['logits_mm']),
    node('Add', ['logits_mm', 'b_lm'], ['logits']),
  );

  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'tollgate',
    producerVersion: TINY_CHAT_BUILD,
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'tiny_chat', node: nodes, initializer: init, input: inputs, output: outputs },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** GPT-2's byte-to-unicode table: every byte gets a printable stand-in character. */
function byteLevelAlphabet(): string[] {
  const direct: number[] = [];
  for (let b = 33; b <= 126; b++) direct.push(b);
  for (let b = 161; b <= 172; b++) direct.push(b);
  for (let b = 174; b <= 255; b++) direct.push(b);
  const chars = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    chars[b] = String.fromCharCode(direct.includes(b) ? b : 256 + extra++);
  }
  return chars;
}

/** The JSON files beside the graph, in the layout transformers.js (and Python transformers) read. */
export function tinyChatFiles(): Record<string, unknown> {
  const { layers, heads, embd, positions } = TINY_CHAT_SHAPE;
  const alphabet = byteLevelAlphabet();
  const vocab: Record<string, number> = {};
  alphabet.forEach((ch, id) => {
    vocab[ch] = id;
  });
  const addedTokens = SPECIALS.map((content, i) => ({
    id: 256 + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    'tokenizer.json': {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: addedTokens,
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: null,
      decoder: byteLevel,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: [],
      },
    },
    'tokenizer_config.json': {
      tokenizer_class: 'GPT2Tokenizer',
      bos_token: SPECIAL_TOKENS.imStart,
      eos_token: SPECIAL_TOKENS.imEnd,
      pad_token: SPECIAL_TOKENS.endOfText,
      unk_token: SPECIAL_TOKENS.endOfText,
      add_bos_token: false,
      add_prefix_space: false,
      clean_up_tokenization_spaces: false,
      model_max_length: positions,
      chat_template: CHATML_TEMPLATE,
      added_tokens_decoder: Object.fromEntries(addedTokens.map(({ id, ...t }) => [String(id), t])),
    },
    'config.json': {
      _name_or_path: TINY_CHAT_ID,
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      vocab_size: VOCAB,
      n_positions: positions,
      n_ctx: positions,
      n_embd: embd,
      n_layer: layers,
      n_head: heads,
      bos_token_id: IM_START_ID,
      eos_token_id: IM_END_ID,
      pad_token_id: EOT_ID,
      use_cache: true,
      tollgate_build: TINY_CHAT_BUILD,
      tollgate_note: 'Test model: random fixed-seed weights, output is gibberish by design.',
    },
    'generation_config.json': {
      bos_token_id: IM_START_ID,
      eos_token_id: [IM_END_ID, EOT_ID],
      pad_token_id: EOT_ID,
    },
  };
}
