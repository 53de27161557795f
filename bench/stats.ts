/**
 * The nearest-rank percentile of an ascending sample, for every benchmark.
 * An empty sample has none: NaN, which JSON prints as null.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
