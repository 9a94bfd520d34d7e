/**
 * The device's scores against the studio's int8 scores, window by window: the browser's twin of
 * the studio's `compare_scores` (backend/deployments/jobs.py). Both answer the shared vectors in
 * tests/data/score_comparison_vectors.json.
 */
import type { Schemas } from "../../api/client";

export type ScoreComparison = Schemas["ScoreComparison"];

/** One window whose scores are compared: the studio's int8 scores and the device's. */
export interface ScoredWindow {
  sample_id: number;
  sample_name?: string | null;
  window_index: number;
  window_start_ms: number;
  studio: number[];
  /** `null` where the board printed NaN. */
  device: (number | null)[];
}

/** Windows with differing scores listed in a comparison, as in the studio's. */
export const FIRST_DIFFERING = 10;

/** Rounds halves to the even neighbour, as numpy's `round` does. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Compares each window's scores as the output's int8 steps when its quantization is known (so a
 * studio score kept to fewer digits still matches the device's exact one), else float for float.
 */
export function compareScores(scored: ScoredWindow[], scale: number | null | undefined, zeroPoint: number | null | undefined): ScoreComparison {
  const step = scale != null && zeroPoint != null && scale > 0 ? scale : null;
  const differing: ScoredWindow[] = [];
  let largest = 0;
  let largestSteps = 0;
  for (const window of scored) {
    if (window.studio.length !== window.device.length) {
      throw new Error(`the device gave ${window.device.length} scores for a window, the studio ${window.studio.length}`);
    }
    let differs = false;
    let windowLargest = 0;
    let windowSteps = 0;
    window.studio.forEach((studio, i) => {
      // A null score (the board's NaN) differs from every score.
      const device = window.device[i] ?? NaN;
      const difference = Math.abs(studio - device);
      const steps = step === null ? difference : Math.abs(roundHalfEven(studio / step) - roundHalfEven(device / step));
      if (steps !== 0) differs = true;
      if (Number.isFinite(steps)) {
        windowLargest = Math.max(windowLargest, difference);
        windowSteps = Math.max(windowSteps, steps);
      }
    });
    if (differs) {
      largest = Math.max(largest, windowLargest);
      largestSteps = Math.max(largestSteps, Math.trunc(windowSteps));
      differing.push(window);
    }
  }
  return {
    windows: scored.length,
    differing: differing.length,
    max_abs_difference: scored.length ? largest : null,
    max_step_difference: step === null || !scored.length ? null : largestSteps,
    output_scale: step,
    output_zero_point: step === null ? null : zeroPoint,
    first_differing: differing.slice(0, FIRST_DIFFERING).map((w) => ({ ...w, sample_name: w.sample_name ?? null })),
  };
}
