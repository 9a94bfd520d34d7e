/** Helpers for plotting: min/max downsampling, ranges and "nice" axis ticks. */

/**
 * Keeps at most about `maxPoints` points by taking each bucket's min and max (in time order),
 * so spikes survive downsampling.
 */
export function minMaxDownsample(t: number[], y: number[], maxPoints: number): { t: number[]; y: number[] } {
  const n = Math.min(t.length, y.length);
  if (n <= maxPoints || maxPoints < 4) return { t: t.slice(0, n), y: y.slice(0, n) };
  const buckets = Math.floor(maxPoints / 2);
  const size = n / buckets;
  const outT: number[] = [];
  const outY: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor(b * size);
    const end = Math.min(n, Math.floor((b + 1) * size));
    if (end <= start) continue;
    let minI = start;
    let maxI = start;
    for (let i = start; i < end; i++) {
      if (y[i] < y[minI]) minI = i;
      if (y[i] > y[maxI]) maxI = i;
    }
    const [first, second] = minI <= maxI ? [minI, maxI] : [maxI, minI];
    outT.push(t[first]);
    outY.push(y[first]);
    if (second !== first) {
      outT.push(t[second]);
      outY.push(y[second]);
    }
  }
  return { t: outT, y: outY };
}

/** Min and max over several series, padded when flat. */
export function valueRange(series: number[][]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const v of s) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  return [lo, hi];
}

/** About `count` round tick values covering [lo, hi], never closer than `minStep` (1 for whole
 * numbers such as epochs, so that four epochs are not labelled 1, 2, 2, 3, 3, 4). */
export function niceTicks(lo: number, hi: number, count = 5, minStep = 0): number[] {
  if (!(hi > lo)) return [lo];
  const raw = Math.max((hi - lo) / Math.max(1, count), minStep);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(12)));
  }
  return ticks;
}

/** Indices of the points whose time lies within [from, to]. */
export function visibleSlice(t: number[], from: number, to: number): [number, number] {
  let start = 0;
  while (start < t.length && t[start] < from) start++;
  let end = t.length;
  while (end > start && t[end - 1] > to) end--;
  return [Math.max(0, start - 1), Math.min(t.length, end + 1)];
}
