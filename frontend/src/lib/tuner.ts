/** How the Tuner page reads a run: trials' key parameters, status words, sorting, chart points. */
import type { TunerRun, TunerTrial } from "../api/tuner";

export type TrialSortKey = "number" | "accuracy" | "ram" | "latency";
export type Section = "dsp" | "learn";

/** Trials still asked, training or measuring: nothing has stopped them yet. */
const ACTIVE_TRIAL = new Set(["queued", "training", "measuring"]);

/** "92.4 %", or a dash when there is no figure. */
export function percent(value: number | null | undefined): string {
  return value == null ? "—" : `${(value * 100).toFixed(1)} %`;
}

/** "1.23 ms", "12.3 ms", "123 ms". */
export function formatMs(value: number | null | undefined): string {
  if (value == null) return "—";
  const digits = value < 10 ? 2 : value < 100 ? 1 : 0;
  return `${value.toFixed(digits)} ms`;
}

/** "9.1 KB" for a byte count (the budgets' unit in the form). */
export function formatKb(bytes: number | null | undefined): string {
  if (bytes == null) return "—";
  return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 2 : 1)} KB`;
}

function formatValue(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(3)));
  if (Array.isArray(value)) return value.map(formatValue).join("-");
  if (typeof value === "boolean") return value ? "on" : "off";
  return String(value);
}

interface SpecBlock {
  block?: string;
  params?: Record<string, unknown>;
}
interface TrialSpec {
  input?: { window_ms?: number; stride_ms?: number };
  dsp?: SpecBlock[];
  learn?: SpecBlock[];
}

/** The block a trial chose for a section and the parameters the search set for it ("fft_length 64"). */
export function keyParams(trial: Pick<TunerTrial, "params" | "spec">, section: Section): { block: string | null; params: string[] } {
  const block = (trial.spec as TrialSpec)[section]?.[0]?.block ?? null;
  if (!block) return { block: null, params: [] };
  // Searched parameters are named after their block ("mfcc.num_filters"); the rest stayed at defaults.
  const prefix = `${block}.`;
  const params = Object.entries(trial.params)
    .filter(([name]) => name.startsWith(prefix))
    .map(([name, value]) => `${name.slice(prefix.length)} ${formatValue(value)}`);
  return { block, params };
}

/** "1000 / 500 ms": the trial's window length and stride. */
export function trialWindow(trial: Pick<TunerTrial, "spec">): string {
  const input = (trial.spec as TrialSpec).input;
  if (input?.window_ms == null) return "—";
  return `${input.window_ms} / ${input.stride_ms ?? input.window_ms} ms`;
}

/** Why a trial stopped short ("at epoch 6" after the pruner stopped it, a training error), or null. */
export function trialStatusDetail(trial: Pick<TunerTrial, "status" | "error">, prunedAfterEpoch?: number): string | null {
  if (trial.status === "pruned" && prunedAfterEpoch !== undefined) return `at epoch ${prunedAfterEpoch}`;
  if (ACTIVE_TRIAL.has(trial.status) || trial.status === "succeeded") return null;
  return trial.error || null;
}

/** The epoch after which each pruned trial stopped, by trial id, from its training job's result. */
export function prunedEpochs(
  trials: Pick<TunerTrial, "id" | "status" | "train_job_id">[],
  jobs: { id: number; result: Record<string, unknown> | null }[],
): Map<number, number> {
  const epochs = new Map<number, number>();
  for (const t of trials) {
    if (t.status !== "pruned") continue;
    const epoch = jobs.find((j) => j.id === t.train_job_id)?.result?.pruned_after_epoch;
    if (typeof epoch === "number") epochs.set(t.id, epoch);
  }
  return epochs;
}

function sortValue(trial: TunerTrial, key: TrialSortKey): number | null {
  if (key === "accuracy") return trial.accuracy.int8_validation ?? null;
  if (key === "ram") return trial.ram_bytes;
  if (key === "latency") return trial.latency_ms;
  return trial.number;
}

/** Trials ordered by a column; trials without the figure stay at the end either way. */
export function sortTrials(trials: TunerTrial[], key: TrialSortKey, descending: boolean): TunerTrial[] {
  return [...trials].sort((a, b) => {
    const va = sortValue(a, key);
    const vb = sortValue(b, key);
    if (va === null || vb === null) return va === vb ? a.number - b.number : va === null ? 1 : -1;
    return (descending ? vb - va : va - vb) || a.number - b.number;
  });
}

export interface ChartPoint {
  number: number;
  x: number;
  accuracy: number;
  fits: boolean;
  pareto: boolean;
  best: boolean;
  title: string;
}

/** The measured trials as points of accuracy against RAM (bytes) or latency (ms), with a title naming each. */
export function chartPoints(trials: TunerTrial[], against: "ram" | "latency"): ChartPoint[] {
  const points: ChartPoint[] = [];
  for (const t of trials) {
    const accuracy = t.accuracy.int8_validation;
    const x = against === "ram" ? t.ram_bytes : t.latency_ms;
    if (accuracy == null || x == null) continue;
    const fit = t.fits === true ? "fits" : t.fits === false ? "over budget" : "not measured";
    const title = `Trial ${t.number}${t.best ? " (best)" : ""}: ${percent(accuracy)} int8 validation, ${formatKb(t.ram_bytes)} RAM, ${formatKb(t.flash_bytes)} flash, ${formatMs(t.latency_ms)} per window; ${fit}${t.pareto ? ", on the Pareto front" : ""}`;
    points.push({ number: t.number, x, accuracy, fits: t.fits === true, pareto: t.pareto, best: t.best, title });
  }
  return points;
}

/** The front's points in the order a line joins them (left to right). */
export function frontLine(points: ChartPoint[]): ChartPoint[] {
  return points.filter((p) => p.pareto).sort((a, b) => a.x - b.x || b.accuracy - a.accuracy);
}

/** Trials done and asked for, and the fraction of the run that is done. */
export function runProgress(run: Pick<TunerRun, "trials_done" | "trials_total" | "settings" | "status">): { done: number; total: number; fraction: number } {
  // The run asks trials as it goes; while it runs, the target is the trial count it was given.
  const total = run.status === "running" ? Math.max(run.settings.max_trials, run.trials_total) : run.trials_total;
  return { done: run.trials_done, total, fraction: total ? run.trials_done / total : 0 };
}

/** Milliseconds a run has taken so far (or took). */
export function runElapsedMs(run: Pick<TunerRun, "created_at" | "finished_at">, now: number): number {
  const parse = (iso: string) => Date.parse(iso.endsWith("Z") || iso.includes("+") ? iso : `${iso}Z`);
  return Math.max(0, (run.finished_at ? parse(run.finished_at) : now) - parse(run.created_at));
}
