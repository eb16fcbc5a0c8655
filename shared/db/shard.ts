/**
 * Which of `shards` a value falls in: a stable 32-bit string hash, so writers spread over the
 * shards evenly (request ids are random in their low bits) and the same value always lands alike.
 */
export function shardOf(value: string, shards: number): number {
  let h = 0;
  for (let i = 0; i < value.length; i++) h = (h * 31 + value.charCodeAt(i)) >>> 0;
  return h % shards;
}
