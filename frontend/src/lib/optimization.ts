/** How the Training page reads an optimized run next to its baseline: one row per figure with
 * both values and the change, and a short name for what the run optimized. */

export interface OptimizationSettings {
  pruning?: "none" | "structured" | "unstructured";
  sparsity?: number;
  qat?: boolean;
  distillation?: boolean;
}

export interface DeviceModel {
  macs: number;
  arena_bytes: number;
  weights_bytes: number;
  tflite_bytes: number;
  zipped_bytes: number;
  ram_bytes: number;
  flash_bytes: number;
  latency_ms: number;
  instructions: number;
  model_instructions: number;
}

export interface OptimizationReport {
  device?: { board_id: string; error?: string; baseline?: DeviceModel; optimized?: DeviceModel };
  pruning?: { method?: string; note?: string; [key: string]: unknown };
  qat?: Record<string, unknown>;
  distillation?: Record<string, unknown>;
  companions?: Record<string, { float32_test?: { accuracy?: number }; int8_test?: { accuracy?: number }; int8_tflite_bytes?: number }>;
}

interface Accuracies {
  float32?: number;
  int8?: number;
}

export interface CompareRow {
  figure: string;
  baseline: string;
  optimized: string;
  /** The change as text ("−41.2 %", "+0.8 points"), or "—". */
  delta: string;
  /** True when the change is for the better, false when for the worse, null when none or unknown. */
  better: boolean | null;
}

/** Whether learning-block settings ask for any optimization (as the API decides it). */
export function isOptimized(params: Record<string, unknown> | null | undefined): boolean {
  const o = (params?.optimization ?? null) as OptimizationSettings | null;
  return !!o && ((o.pruning ?? "none") !== "none" || !!o.qat || !!o.distillation);
}

/** Whether these settings need a baseline model to start from (pruning or QAT without distillation). */
export function needsBaseline(params: Record<string, unknown> | null | undefined): boolean {
  const o = (params?.optimization ?? null) as OptimizationSettings | null;
  return isOptimized(params) && !o?.distillation;
}

/** "distilled + structured pruning 50 % + QAT": what a run's settings optimized, or "" for none. */
export function optimizationName(params: Record<string, unknown> | null | undefined): string {
  if (!isOptimized(params)) return "";
  const o = params!.optimization as OptimizationSettings;
  const parts: string[] = [];
  if (o.distillation) parts.push("distilled");
  if (o.pruning && o.pruning !== "none") parts.push(`${o.pruning} pruning ${Math.round((o.sparsity ?? 0) * 100)} %`);
  if (o.qat) parts.push("QAT");
  return parts.join(" + ");
}

const percent = (v: number | undefined) => (v === undefined ? "—" : `${(v * 100).toFixed(1)} %`);
const count = (v: number | undefined) => (v === undefined ? "—" : v.toLocaleString("en-US"));
const ms = (v: number | undefined) => (v === undefined ? "—" : `${v.toFixed(v < 10 ? 3 : 1)} ms`);

function relative(before: number | undefined, after: number | undefined): { delta: string; better: boolean | null } {
  if (before === undefined || after === undefined || before === 0) return { delta: "—", better: null };
  const change = (after - before) / before;
  if (change === 0) return { delta: "0 %", better: null };
  const sign = change > 0 ? "+" : "−";
  return { delta: `${sign}${Math.abs(change * 100).toFixed(1)} %`, better: change < 0 };
}

function points(before: number | undefined, after: number | undefined): { delta: string; better: boolean | null } {
  if (before === undefined || after === undefined) return { delta: "—", better: null };
  const change = (after - before) * 100;
  if (Math.abs(change) < 0.05) return { delta: "0 points", better: null };
  return { delta: `${change > 0 ? "+" : "−"}${Math.abs(change).toFixed(1)} points`, better: change > 0 };
}

/** The side-by-side table: accuracies (points) and device figures (relative change; lower is better). */
export function compareRows(baseline: Accuracies, optimized: Accuracies, device: OptimizationReport["device"]): CompareRow[] {
  const rows: CompareRow[] = [
    {
      figure: "float32 test accuracy",
      baseline: percent(baseline.float32),
      optimized: percent(optimized.float32),
      ...points(baseline.float32, optimized.float32),
    },
    { figure: "int8 test accuracy", baseline: percent(baseline.int8), optimized: percent(optimized.int8), ...points(baseline.int8, optimized.int8) },
  ];
  const b = device?.baseline;
  const o = device?.optimized;
  const sized: [string, keyof DeviceModel, (v: number | undefined) => string][] = [
    ["MACs per window", "macs", count],
    ["RAM (impulse)", "ram_bytes", (v) => (v === undefined ? "—" : `${count(v)} B`)],
    ["flash (impulse)", "flash_bytes", (v) => (v === undefined ? "—" : `${count(v)} B`)],
    ["model arena", "arena_bytes", (v) => (v === undefined ? "—" : `${count(v)} B`)],
    ["int8 model file", "tflite_bytes", (v) => (v === undefined ? "—" : `${count(v)} B`)],
    ["int8 model zipped", "zipped_bytes", (v) => (v === undefined ? "—" : `${count(v)} B`)],
    ["instructions per window (model)", "model_instructions", count],
    ["latency (estimate)", "latency_ms", ms],
  ];
  for (const [figure, key, format] of sized) {
    rows.push({ figure, baseline: format(b?.[key]), optimized: format(o?.[key]), ...relative(b?.[key], o?.[key]) });
  }
  return rows;
}
