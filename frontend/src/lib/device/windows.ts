/**
 * Cuts a sample into the impulse's windows the way the studio does (workers/windowing.py):
 * linear resampling to the impulse rate, then windows of window_ms every stride_ms; a sample
 * shorter than one window is padded as the impulse says.
 */

export interface InputBlock {
  window_ms: number;
  stride_ms: number;
  frequency_hz: number;
  zero_pad: boolean;
  /** Absent in impulses saved before it existed: the studio reads those as "edge" too. */
  padding?: "edge" | "mean" | "zero";
}

export interface Window {
  startMs: number;
  /** Time-major raw values (reading after reading, axes inside), as float32. */
  values: Float32Array;
}

// Rates closer than this (relative) are the same rate, as in the studio.
const RATE_TOLERANCE = 1e-6;

/** The sample at `frequencyHz` (readings x axes), float32 like the studio's. */
export function resample(values: number[][], intervalMs: number, frequencyHz: number): number[][] {
  const own = 1000 / intervalMs;
  if (Math.abs(own - frequencyHz) <= RATE_TOLERANCE * frequencyHz || values.length === 0) return values;
  const length = values.length;
  const count = Math.floor(((length - 1) * intervalMs * frequencyHz) / 1000 + 1e-9) + 1;
  const step = 1000 / frequencyHz / intervalMs;
  const out: number[][] = [];
  for (let i = 0; i < count; i++) {
    const position = Math.min(i * step, length - 1);
    const left = Math.floor(position);
    const right = Math.min(left + 1, length - 1);
    const frac = position - left;
    out.push(values[left].map((v, axis) => Math.fround(v * (1 - frac) + values[right][axis] * frac)));
  }
  return out;
}

/** The windows of one sample with their start times (ms from the sample's start). */
export function cutWindows(values: number[][], intervalMs: number, input: InputBlock): Window[] {
  const size = Math.round((input.window_ms * input.frequency_hz) / 1000);
  const stride = Math.max(1, Math.round((input.stride_ms * input.frequency_hz) / 1000));
  const signal = resample(values, intervalMs, input.frequency_hz);
  const axes = values[0]?.length ?? 0;
  const flat = (rows: number[][]) => {
    const out = new Float32Array(size * axes);
    rows.forEach((row, i) => out.set(row, i * axes));
    return out;
  };
  if (signal.length < size) {
    return input.zero_pad && signal.length > 0 ? [{ startMs: 0, values: flat(pad(signal, size, input.padding ?? "edge")) }] : [];
  }
  const windows: Window[] = [];
  for (let start = 0; start + size <= signal.length; start += stride) {
    windows.push({ startMs: (start * 1000) / input.frequency_hz, values: flat(signal.slice(start, start + size)) });
  }
  return windows;
}

/** A signal shorter than `size` readings, lengthened with its last reading, its mean per axis, or zeros. */
export function pad(signal: number[][], size: number, padding: "edge" | "mean" | "zero"): number[][] {
  const axes = signal[0].length;
  const fill =
    padding === "edge"
      ? signal[signal.length - 1]
      : padding === "mean"
        ? Array.from({ length: axes }, (_, a) => Math.fround(signal.reduce((sum, row) => sum + row[a], 0) / signal.length))
        : new Array<number>(axes).fill(0);
  return [...signal, ...Array.from({ length: size - signal.length }, () => fill)];
}
