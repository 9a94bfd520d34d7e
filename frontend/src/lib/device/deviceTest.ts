/**
 * On-device testing from the browser, over any transport: every test window goes through the
 * board's `classify`, and each answer is compared with the studio's int8 prediction for it.
 */
import type { Classification } from "./device";
import { cutWindows, type InputBlock } from "./windows";

/** One test window as the studio's training result lists it. */
export interface StudioWindow {
  sample_id: number;
  window_start_ms: number;
  label: string | null;
  int8?: string | number;
}

export interface TestSample {
  id: number;
  intervalMs: number;
  values: number[][];
}

export interface WindowOutcome {
  sample_id: number;
  window_start_ms: number;
  label: string | null;
  device: string;
  studio_int8: string | null;
  inference_us: number;
}

export interface DeviceTestReport {
  windows: number;
  device_accuracy: number | null;
  studio_int8_accuracy: number | null;
  agreement: number | null;
  classes: string[];
  confusion_matrix: number[][];
  disagreements: WindowOutcome[];
  mean_inference_us: number | null;
}

// Window starts are compared in ms rounded to 3 decimals, as the studio keys them.
const key = (sampleId: number, startMs: number) => `${sampleId}@${startMs.toFixed(3)}`;

/**
 * Classifies every window of the test samples with `classify` and compares it with the studio's
 * result; `onProgress` gets (done, total) after each window.
 */
export async function runDeviceTest(
  samples: TestSample[],
  studio: StudioWindow[],
  input: InputBlock,
  classes: string[],
  classify: (values: Float32Array) => Promise<Classification>,
  onProgress?: (done: number, total: number) => void,
  cancelled: () => boolean = () => false,
): Promise<DeviceTestReport> {
  const expected = new Map(studio.map((w) => [key(w.sample_id, w.window_start_ms), w]));
  const labelOf = new Map(studio.map((w) => [w.sample_id, w.label]));
  const jobs = samples.flatMap((s) => cutWindows(s.values, s.intervalMs, input).map((w) => ({ sample: s, window: w })));
  const outcomes: WindowOutcome[] = [];
  for (const [i, { sample, window }] of jobs.entries()) {
    if (cancelled()) break;
    const answer = await classify(window.values);
    const studioWindow = expected.get(key(sample.id, window.startMs));
    const int8 = studioWindow?.int8;
    outcomes.push({
      sample_id: sample.id,
      window_start_ms: window.startMs,
      label: studioWindow?.label ?? labelOf.get(sample.id) ?? null,
      device: answer.label,
      // Older results may hold a class index instead of its name.
      studio_int8: int8 === undefined ? null : typeof int8 === "number" ? (classes[int8] ?? String(int8)) : int8,
      inference_us: answer.inference_us,
    });
    onProgress?.(i + 1, jobs.length);
  }
  return summarize(outcomes, classes);
}

/** Accuracy, agreement, confusion matrix and disagreements of classified windows. */
export function summarize(outcomes: WindowOutcome[], classes: string[]): DeviceTestReport {
  const n = outcomes.length;
  const confusion = classes.map(() => classes.map(() => 0));
  for (const o of outcomes) {
    const row = o.label === null ? -1 : classes.indexOf(o.label);
    const column = classes.indexOf(o.device);
    if (row >= 0 && column >= 0) confusion[row][column] += 1;
  }
  const disagreements = outcomes.filter((o) => o.studio_int8 !== o.device);
  const times = outcomes.map((o) => o.inference_us).filter((v) => Number.isFinite(v));
  return {
    windows: n,
    device_accuracy: n ? outcomes.filter((o) => o.device === o.label).length / n : null,
    studio_int8_accuracy: n ? outcomes.filter((o) => o.studio_int8 === o.label).length / n : null,
    agreement: n ? (n - disagreements.length) / n : null,
    classes,
    confusion_matrix: confusion,
    disagreements,
    mean_inference_us: times.length ? times.reduce((a, b) => a + b, 0) / times.length : null,
  };
}
