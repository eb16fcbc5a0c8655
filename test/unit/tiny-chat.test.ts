import { describe, expect, it } from 'vitest';
import {
  buildTinyChatOnnx,
  SPECIAL_TOKENS,
  TINY_CHAT_SHAPE,
  tinyChatFiles,
} from '../../local/models/tiny-chat';

describe('the tiny test chat model', () => {
  it('is the same bytes on every build (fixed seed), and small', () => {
    const a = buildTinyChatOnnx();
    const b = buildTinyChatOnnx();
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(a.byteLength).toBeLessThan(2_000_000);
  });

  it('has a byte-level vocabulary, ChatML special tokens and a chat template', () => {
    const files = tinyChatFiles() as Record<string, Record<string, unknown>>;
    const tokenizer = files['tokenizer.json']!;
    const vocab = (tokenizer.model as { vocab: Record<string, number> }).vocab;
    expect(Object.keys(vocab)).toHaveLength(256);
    expect(new Set(Object.values(vocab)).size).toBe(256);
    const added = tokenizer.added_tokens as { id: number; content: string; special: boolean }[];
    expect(added.map((t) => t.content)).toEqual(Object.values(SPECIAL_TOKENS));
    expect(added.every((t) => t.special && t.id >= 256)).toBe(true);
    expect(files['tokenizer_config.json']!.chat_template).toContain('<|im_start|>');
    expect(files['config.json']).toMatchObject({
      model_type: 'gpt2',
      n_layer: TINY_CHAT_SHAPE.layers,
      n_positions: TINY_CHAT_SHAPE.positions,
      vocab_size: 259,
    });
  });
});
