/**
 * On-device testing from the browser, over any transport: every test window goes through the
 * board's `classify`, and each answer is compared with the studio's int8 result for it: the
 * label, every score, and the anomaly score when the firmware has an anomaly block.
 */
import type { Classification } from "./device";
import { compareScores, type ScoreComparison, type ScoredWindow } from "./scoreComparison";
import { cutWindows, type InputBlock } from "./windows";

/** One test window as the studio's training result lists it. */
export interface StudioWindow {
  sample_id: number;
  window_start_ms: number;
  label: string | null;
  int8?: string | number;
  /** The int8 model's scores, in label order (classifiers). */
  scores_int8?: number[];
  /** The anomaly score (K-means runs). */
  score?: number;
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

/** The device's anomaly scores against the studio's, for the windows the studio scored. */
export interface AnomalyComparison {
  threshold: number;
  windows: number;
  max_abs_difference: number | null;
  mean_abs_difference: number | null;
  device_anomalous: number;
  studio_anomalous: number;
  agreement: number | null;
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
  scores: ScoreComparison;
  anomaly: AnomalyComparison | null;
}

/** The anomaly run built into the firmware: its threshold and its scored test windows. */
export interface AnomalyReference {
  threshold: number;
  windows: StudioWindow[];
}

export interface DeviceTest {
  samples: TestSample[];
  /** The training run's test windows. */
  studio: StudioWindow[];
  input: InputBlock;
  classes: string[];
  /** Output 0's quantization as the firmware's `info` gives it (scores compare in its steps). */
  output?: { scale?: number | null; zero_point?: number | null } | null;
  anomaly?: AnomalyReference | null;
  classify: (values: Float32Array) => Promise<Classification>;
  /** Gets (done, total) after each window. */
  onProgress?: (done: number, total: number) => void;
  cancelled?: () => boolean;
}

// Window starts are compared in ms rounded to 3 decimals, as the studio keys them.
const key = (sampleId: number, startMs: number) => `${sampleId}@${startMs.toFixed(3)}`;

/** Classifies every window of the test samples with `classify` and compares it with the studio's result. */
export async function runDeviceTest(test: DeviceTest): Promise<DeviceTestReport> {
  const { classes, cancelled = () => false } = test;
  const expected = new Map(test.studio.map((w) => [key(w.sample_id, w.window_start_ms), w]));
  const labelOf = new Map(test.studio.map((w) => [w.sample_id, w.label]));
  const studioAnomaly = new Map((test.anomaly?.windows ?? []).map((w) => [key(w.sample_id, w.window_start_ms), w.score]));
  const jobs = test.samples.flatMap((s) => cutWindows(s.values, s.intervalMs, test.input).map((w, index) => ({ sample: s, window: w, index })));
  const outcomes: WindowOutcome[] = [];
  const scored: ScoredWindow[] = [];
  const anomalies: [number, number][] = [];
  for (const [i, { sample, window, index }] of jobs.entries()) {
    if (cancelled()) break;
    const answer = await test.classify(window.values);
    const at = key(sample.id, window.startMs);
    const studioWindow = expected.get(at);
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
    if (studioWindow?.scores_int8) {
      scored.push({
        sample_id: sample.id,
        window_index: index,
        window_start_ms: window.startMs,
        studio: studioWindow.scores_int8,
        device: answer.scores ?? [],
      });
    }
    const studioScore = studioAnomaly.get(at);
    if (test.anomaly && studioScore != null && answer.anomaly != null) anomalies.push([answer.anomaly, studioScore]);
    test.onProgress?.(i + 1, jobs.length);
  }
  return {
    ...summarize(outcomes, classes),
    scores: compareScores(scored, test.output?.scale, test.output?.zero_point),
    anomaly: test.anomaly ? compareAnomaly(anomalies, test.anomaly.threshold) : null,
  };
}

/** Accuracy, agreement, confusion matrix and disagreements of classified windows. */
export function summarize(outcomes: WindowOutcome[], classes: string[]) {
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

/** Device against studio anomaly scores ([device, studio] per window), as the studio's test sums them up. */
export function compareAnomaly(pairs: [number, number][], threshold: number): AnomalyComparison {
  const differences = pairs.map(([device, studio]) => Math.abs(device - studio));
  const n = pairs.length;
  const flagsDiffer = pairs.filter(([device, studio]) => device > threshold !== studio > threshold).length;
  return {
    threshold,
    windows: n,
    max_abs_difference: n ? differences.reduce((a, b) => Math.max(a, b), 0) : null,
    mean_abs_difference: n ? differences.reduce((a, b) => a + b, 0) / n : null,
    device_anomalous: pairs.filter(([device]) => device > threshold).length,
    studio_anomalous: pairs.filter(([, studio]) => studio > threshold).length,
    agreement: n ? 1 - flagsDiffer / n : null,
  };
}
