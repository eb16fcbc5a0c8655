/**
 * The billed token count of a text for the text models (`/v1/text/sentiment`): a small
 * deterministic tokenizer that the gateway runs before the model is called (so the usage record
 * can be written while the model runs) and that the model runtime reports in its own
 * `usage.input_tokens` and per-result `tokens`, so that the two agree by construction.
 *
 * The rule: a token is either
 * - a maximal run of letters, combining marks, digits and connector punctuation
 *   (`[\p{L}\p{M}\p{N}\p{Pc}]+`: a word or a number, in any script), or
 * - any other single code point that is not whitespace (punctuation, symbols, each part of an
 *   emoji sequence).
 *
 * Whitespace (`\s`, Unicode-aware) only separates tokens. So "The food was not good." is six
 * tokens, "don't" three ("don", "'", "t"), "3.14" three, "日本語" one, "👍🏽" two. Every token takes
 * at least one UTF-16 code unit, so a text never has more tokens than its `length`: the
 * reservation's bound (characters) holds.
 */
const TOKEN = /[\p{L}\p{M}\p{N}\p{Pc}]+|[^\s\p{L}\p{M}\p{N}\p{Pc}]/gu;

/** The tokens of `text` by the rule above (for tests and tools; billing needs only the count). */
export function textTokens(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

/** How many tokens `text` is billed as (see the rule above). Linear in the text's length. */
export function countTextTokens(text: string): number {
  // One shared pattern: the loop is synchronous, so resetting its position is enough.
  TOKEN.lastIndex = 0;
  let n = 0;
  while (TOKEN.exec(text) !== null) n++;
  return n;
}
