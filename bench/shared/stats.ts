/** Small statistics helpers for the bench: medians and a latency histogram. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * A log-linear histogram of durations in microseconds: exact below 1 024 µs,
 * then 64 buckets per power of two (at most 1.6 % relative error). Recording is
 * O(1) and allocation-free, which keeps the load generator lean at 10^5 samples/s.
 */
export class LatencyHistogram {
  static readonly #LINEAR = 1024;
  static readonly #SUB_BITS = 6;
  // 1 024 linear buckets + 64 per octave from 2^10 µs up to 2^36 µs (~19 h).
  readonly #counts = new Float64Array(1024 + 64 * 26);
  #total = 0;

  get count(): number {
    return this.#total;
  }

  /** Records one duration given in milliseconds (what `performance.now()` differences are). */
  recordMs(ms: number): void {
    this.record(ms * 1000);
  }

  record(micros: number): void {
    const v = micros < 0 ? 0 : Math.floor(micros);
    this.#counts[LatencyHistogram.#bucket(v)]! += 1;
    this.#total += 1;
  }

  static #bucket(v: number): number {
    if (v < LatencyHistogram.#LINEAR) return v;
    const octave = Math.floor(Math.log2(v)); // >= 10
    const sub = Math.floor(v / 2 ** (octave - LatencyHistogram.#SUB_BITS)) - 64; // 0..63
    return Math.min(1024 + (octave - 10) * 64 + sub, 1024 + 64 * 26 - 1);
  }

  static #lowerBound(bucket: number): number {
    if (bucket < LatencyHistogram.#LINEAR) return bucket;
    const octave = Math.floor((bucket - 1024) / 64) + 10;
    const sub = (bucket - 1024) % 64;
    return (64 + sub) * 2 ** (octave - LatencyHistogram.#SUB_BITS);
  }

  /** The `p`-th percentile (0..100) in milliseconds, or NaN when empty. */
  percentileMs(p: number): number {
    if (this.#total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#total));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return LatencyHistogram.#lowerBound(i) / 1000;
    }
    return Number.NaN;
  }
}
