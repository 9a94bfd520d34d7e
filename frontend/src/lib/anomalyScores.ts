/** Summaries of an anomaly model's test-window scores: a histogram split by normal/other, per label. */

export interface ScoredWindow {
  label: string | null;
  score?: number;
}

export interface Histogram {
  edges: number[]; // bins + 1 edges, ascending
  normal: number[]; // windows whose label is a normal one, per bin
  other: number[]; // every other window, per bin
}

/** Counts scores into `bins` equal bins spanning the scores and the threshold. */
export function scoreHistogram(windows: ScoredWindow[], normalLabels: string[], threshold: number, bins = 24): Histogram {
  const scored = windows.filter((w): w is ScoredWindow & { score: number } => typeof w.score === "number" && Number.isFinite(w.score));
  const values = [...scored.map((w) => w.score), threshold];
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (high === low) {
    low -= 0.5;
    high += 0.5;
  }
  const width = (high - low) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => low + i * width);
  const normal = new Array<number>(bins).fill(0);
  const other = new Array<number>(bins).fill(0);
  const normals = new Set(normalLabels);
  for (const w of scored) {
    const bin = Math.min(bins - 1, Math.floor((w.score - low) / width));
    (w.label !== null && normals.has(w.label) ? normal : other)[bin] += 1;
  }
  return { edges, normal, other };
}

export interface LabelSummary {
  label: string;
  normal: boolean;
  windows: number;
  meanScore: number;
  flagged: number; // windows scoring above the threshold
}

/** Per label: how many windows, their mean score, how many score as anomalous. */
export function labelSummaries(windows: ScoredWindow[], normalLabels: string[], threshold: number): LabelSummary[] {
  const byLabel = new Map<string, number[]>();
  for (const w of windows) {
    if (typeof w.score !== "number") continue;
    const label = w.label ?? "(unlabelled)";
    byLabel.set(label, [...(byLabel.get(label) ?? []), w.score]);
  }
  return [...byLabel.entries()]
    .map(([label, scores]) => ({
      label,
      normal: normalLabels.includes(label),
      windows: scores.length,
      meanScore: scores.reduce((a, b) => a + b, 0) / scores.length,
      flagged: scores.filter((s) => s > threshold).length,
    }))
    .sort((a, b) => Number(b.normal) - Number(a.normal) || a.label.localeCompare(b.label));
}
