/**
 * Nearest-rank percentile over values already sorted ascending: the smallest value with at least q
 * of the values at or below it; null when there are none. One formula for evaluate's time-to-detect
 * percentiles and the rule figures' distributions (rules/features.ts).
 */
export function nearestRank(sorted: ArrayLike<number>, q: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
}
