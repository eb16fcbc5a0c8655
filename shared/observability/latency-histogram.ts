/**
 * A latency histogram with fixed, log-spaced buckets, so histograms from any number of instances
 * and days merge by adding counts bucket by bucket (and a store can add them with `ADD`).
 *
 * Bucket 0 holds [0, 1) ms; bucket i >= 1 holds [GROWTH^(i-1), GROWTH^i) ms; the last bucket also
 * holds everything slower (about 15 minutes and up). A percentile is read as the geometric middle
 * of the bucket the nearest-rank sample falls in, so for a sample of at least 1 ms it is within
 * sqrt(GROWTH) - 1 (4.9%) of the exact nearest-rank value, and within 0.5 ms below 1 ms
 * (`PERCENTILE_ERROR`); the value answered is then rounded to 0.1 ms.
 */
export const GROWTH = 1.1;
/** Buckets up to 1.1^144 ms (about 15.6 minutes): longer than any model timeout. */
export const BUCKETS = 145;
export const PERCENTILE_ERROR = { relative: Math.sqrt(GROWTH) - 1, absoluteMs: 0.5, roundingMs: 0.05 };

const LOG_GROWTH = Math.log(GROWTH);

/** Counts per bucket index; absent buckets are empty. */
export type Histogram = Map<number, number>;

/** The bucket a latency falls in. */
export function bucketOf(ms: number): number {
  if (!(ms >= 1)) return 0; // also NaN and negatives: a clock step is not a latency
  let i = Math.floor(Math.log(ms) / LOG_GROWTH) + 1;
  // Floating point at the edges: make sure GROWTH^(i-1) <= ms < GROWTH^i.
  if (GROWTH ** (i - 1) > ms) i -= 1;
  else if (GROWTH ** i <= ms) i += 1;
  return Math.min(i, BUCKETS - 1);
}

/** [lower, upper) of a bucket, in ms. */
export function bucketBounds(i: number): [number, number] {
  if (i <= 0) return [0, 1];
  return [GROWTH ** (i - 1), GROWTH ** i];
}

/** The value a bucket stands for: the geometric middle (0.5 ms for the first). */
function representative(i: number): number {
  if (i <= 0) return 0.5;
  const [lo, hi] = bucketBounds(i);
  return Math.sqrt(lo * hi);
}

export function observe(h: Histogram, ms: number, count = 1): void {
  const i = bucketOf(ms);
  h.set(i, (h.get(i) ?? 0) + count);
}

/** Adds `from` into `into`. */
export function mergeInto(into: Histogram, from: Histogram): void {
  for (const [i, n] of from) into.set(i, (into.get(i) ?? 0) + n);
}

export function totalCount(h: Histogram): number {
  let n = 0;
  for (const c of h.values()) n += c;
  return n;
}

/**
 * The q-quantile (0 < q <= 1) by nearest rank: the bucket of the ceil(q * n)-th smallest sample,
 * read as its representative and rounded to 0.1 ms. `null` for an empty histogram.
 */
export function percentile(h: Histogram, q: number): number | null {
  const n = totalCount(h);
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (const i of [...h.keys()].sort((a, b) => a - b)) {
    seen += h.get(i) ?? 0;
    if (seen >= rank) return Math.round(representative(i) * 10) / 10;
  }
  return null; // unreachable: seen reaches n
}
