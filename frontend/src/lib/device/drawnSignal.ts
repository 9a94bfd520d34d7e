/**
 * A signal drawn with the pointer: each axis is a curve of heights over a fixed number of
 * columns, painted stroke by stroke, then filled between painted columns and resampled to the
 * readings a board replays.
 */

/** Columns of a drawn curve (independent of the readings it is resampled to). */
export const DRAWING_COLUMNS = 240;

/** Heights from 0 (bottom) to 1 (top) per column; null where nothing was drawn. */
export type Curve = (number | null)[];

/** A pointer position as fractions of the drawing: x from 0 (left) to 1, y from 0 (bottom) to 1. */
export interface DrawPoint {
  x: number;
  y: number;
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

export function emptyCurve(columns = DRAWING_COLUMNS): Curve {
  return Array.from({ length: columns }, () => null);
}

/**
 * The curve with the stroke from `from` to `to` painted in: every column between them takes the
 * height on the straight line joining them, so a fast pointer leaves no gaps. Drawing over a
 * column again replaces it.
 */
export function paintSegment(curve: Curve, from: DrawPoint, to: DrawPoint): Curve {
  const columns = curve.length;
  const column = (x: number) => Math.round(clamp01(x) * (columns - 1));
  const a = column(from.x);
  const b = column(to.x);
  // A pointer dragged past the edge paints along the edge.
  const ya = clamp01(from.y);
  const yb = clamp01(to.y);
  const out = [...curve];
  if (a === b) {
    out[b] = yb;
    return out;
  }
  const step = a < b ? 1 : -1;
  for (let c = a; c !== b + step; c += step) out[c] = ya + ((yb - ya) * (c - a)) / (b - a);
  return out;
}

/** Whether anything was drawn on the curve. */
export function isDrawn(curve: Curve): boolean {
  return curve.some((h) => h !== null);
}

/**
 * Every column's height: gaps between painted columns are joined by straight lines, the ends
 * continue the first and last painted heights. Null when nothing was drawn.
 */
export function completeCurve(curve: Curve): number[] | null {
  const painted = curve.flatMap((h, i) => (h === null ? [] : [i]));
  if (!painted.length) return null;
  const height = (i: number) => curve[i] as number;
  const out = curve.map((h) => h ?? 0);
  for (let i = 0; i < painted[0]; i++) out[i] = height(painted[0]);
  for (let k = 0; k + 1 < painted.length; k++) {
    const left = painted[k];
    const right = painted[k + 1];
    for (let i = left + 1; i < right; i++) out[i] = height(left) + ((height(right) - height(left)) * (i - left)) / (right - left);
  }
  const last = painted[painted.length - 1];
  for (let i = last + 1; i < curve.length; i++) out[i] = height(last);
  return out;
}

/** `points` (evenly spaced from start to end) linearly resampled to `n` evenly spaced values. */
export function resampleEvenly(points: number[], n: number): number[] {
  if (n <= 0 || !points.length) return [];
  if (points.length === 1) return Array.from({ length: n }, () => points[0]);
  if (n === 1) return [points[0]];
  return Array.from({ length: n }, (_, i) => {
    const position = (i * (points.length - 1)) / (n - 1);
    const left = Math.floor(position);
    const right = Math.min(left + 1, points.length - 1);
    return points[left] + (points[right] - points[left]) * (position - left);
  });
}

/**
 * The drawn curves as `readings` readings x axes, heights mapped from 0..1 onto `min`..`max`.
 * An axis nobody drew on stays at 0.
 */
export function drawnSignal(curves: Curve[], options: { readings: number; min: number; max: number }): number[][] {
  const { readings, min, max } = options;
  const axes = curves.map((curve) => {
    const full = completeCurve(curve);
    return full ? resampleEvenly(full, readings).map((h) => min + h * (max - min)) : new Array<number>(readings).fill(0);
  });
  return Array.from({ length: readings }, (_, i) => axes.map((axis) => axis[i]));
}
