/**
 * A fixed-bucket latency histogram (Prometheus' shape: cumulative `le`
 * buckets, a sum and a count), cheap enough for every call: observe() is a
 * short linear scan over the bounds and two additions, no allocation.
 */

/**
 * Upper bounds in seconds: 100 µs to 10 s. A hub answers a call in-process
 * in tens of µs and a provider in ms; calls slower than 10 s land in +Inf.
 */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** The same bounds in milliseconds (what performance.now() differences are). */
const BOUNDS_MS = LATENCY_BUCKETS.map((s) => s * 1000);

export class Histogram {
  /** Non-cumulative counts; the last slot is +Inf. */
  readonly counts = new Float64Array(BOUNDS_MS.length + 1);
  /** Sum of observations, seconds. */
  sum = 0;
  count = 0;

  /** Records one duration given in milliseconds. */
  observeMs(ms: number): void {
    let i = 0;
    while (i < BOUNDS_MS.length && ms > BOUNDS_MS[i]!) i++;
    this.counts[i]!++;
    this.sum += ms / 1000;
    this.count++;
  }

  /** Cumulative counts per bound of {@link LATENCY_BUCKETS}, then +Inf (= count). */
  cumulative(): number[] {
    const out: number[] = [];
    let acc = 0;
    for (const c of this.counts) out.push((acc += c));
    return out;
  }
}

/**
 * The `q` quantile (0..1) of a cumulative bucket series over `bounds`
 * (seconds), interpolated linearly inside the bucket as Prometheus'
 * histogram_quantile() does; undefined when there is no observation. The
 * +Inf bucket answers with the highest finite bound.
 */
export function quantile(q: number, bounds: readonly number[], cumulative: readonly number[]): number | undefined {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < cumulative.length; i++) {
    if (cumulative[i]! >= rank) {
      if (i >= bounds.length) return bounds[bounds.length - 1];
      const lo = i === 0 ? 0 : bounds[i - 1]!;
      const below = i === 0 ? 0 : cumulative[i - 1]!;
      const inBucket = cumulative[i]! - below;
      return inBucket > 0 ? lo + (bounds[i]! - lo) * ((rank - below) / inBucket) : bounds[i];
    }
  }
  return bounds[bounds.length - 1];
}
