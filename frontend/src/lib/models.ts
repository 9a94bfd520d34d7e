/** How the Models page reads an uploaded model: upload errors by field, its figures in words, what can run. */
import { ApiError } from "../api/client";
import type { BoardProfile, ModelInfo, UploadedModel } from "../api/models";
import { fieldMessage } from "./tunerForm";

export type UploadField = "file" | "representative" | "impulse_id" | "name";
const UPLOAD_FIELDS = new Set<string>(["file", "representative", "impulse_id", "name"]);
const ACTIVE_JOB = new Set(["queued", "running"]);

/** The upload form's field a server error names, with the message as it reads beside that field. */
export function uploadFieldError(err: unknown): { field: UploadField; message: string } | null {
  if (!(err instanceof ApiError) || err.field === null || !UPLOAD_FIELDS.has(err.field)) return null;
  const message = fieldMessage(err);
  return { field: err.field as UploadField, message: message.charAt(0).toUpperCase() + message.slice(1) };
}

/** Whether a job with this status (a model's profile_status or library_status) still has work ahead. */
export function jobActive(status: string | null | undefined): boolean {
  return status != null && ACTIVE_JOB.has(status);
}

/** Whether a worker still works on the model: its import, its profile or its C library. */
export function modelBusy(model: Pick<UploadedModel, "status" | "profile_status" | "library_status">): boolean {
  return model.status === "importing" || jobActive(model.profile_status) || jobActive(model.library_status);
}

/** Why the model cannot be profiled or built as C yet, in words; null when it can. */
export function notBuildable(model: Pick<UploadedModel, "status" | "info">): string | null {
  if (model.status === "importing") return "The model is still being imported.";
  if (model.status === "failed") return "The import failed: upload the model again once the problem is fixed.";
  if (!model.info?.compiler.supported) return "The compiler does not take this model: see its operators above.";
  return null;
}

const FORMAT_NAMES: Record<string, string> = { tflite: "TFLite", keras: "Keras .keras", h5: "Keras .h5", savedmodel: "SavedModel (zip)" };

/** "TFLite", "Keras .keras": the format a model was uploaded in. */
export function sourceFormatName(format: string): string {
  return FORMAT_NAMES[format] ?? format;
}

/** "1 × 49 × 10 × 1" */
export function formatShape(shape: number[]): string {
  return shape.length ? shape.join(" × ") : "scalar";
}

/** A quantization scale to four significant digits, or a dash for a tensor that is not quantized. */
export function formatScale(scale: number | null): string {
  return scale == null ? "—" : String(Number(scale.toPrecision(4)));
}

/** "864", "22.6 k", "2.66 M": parameters, multiply-accumulates, instructions. */
export function formatCount(n: number | null | undefined): string {
  if (n == null) return "—";
  if (n < 1e3) return String(n);
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 2 : 1)} k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)} M`;
  return `${(n / 1e9).toFixed(2)} G`;
}

/** The model's operators with how often each occurs, most used first, each marked whether the compiler takes it. */
export function operatorCounts(info: Pick<ModelInfo, "op_counts" | "operators">): { op: string; count: number; supported: boolean }[] {
  const refused = new Set(info.operators.filter((o) => !o.supported).map((o) => o.op));
  return Object.entries(info.op_counts)
    .map(([op, count]) => ({ op, count, supported: !refused.has(op) }))
    .sort((a, b) => b.count - a.count || a.op.localeCompare(b.op));
}

/** A difference between float and int8 outputs as a share of the float outputs' range; null when that range is a point. */
export function shareOfRange(difference: number, range: number[]): number | null {
  const span = range.length === 2 ? range[1] - range[0] : 0;
  return span > 0 ? difference / span : null;
}

/** "5.2 %" of a board's RAM or flash; a sliver reads "< 0.1 %". */
export function percentOf(used: number, limit: number): string {
  const share = (used / limit) * 100;
  if (share > 0 && share < 0.1) return "< 0.1 %";
  return `${share.toFixed(share < 10 ? 1 : 0)} %`;
}

/** The filled share of a usage bar in percent: never past the bar's end, and a sliver still shows. */
export function barPercent(used: number, limit: number): number {
  if (used <= 0 || limit <= 0) return 0;
  return Math.min(100, Math.max(1, (used / limit) * 100));
}

/** One line over the profile table: on how many measured boards the model fits, and how many could not be measured. */
export function profileSummary(boards: Pick<BoardProfile, "measured" | "fits">[]): string {
  const measured = boards.filter((b) => b.measured);
  if (measured.length === 0) return "No board could be measured: see each board's note.";
  const count = (n: number) => `${n} ${n === 1 ? "board" : "boards"}`;
  const fits = `Fits ${measured.filter((b) => b.fits).length} of ${count(measured.length)} measured`;
  const unmeasured = boards.length - measured.length;
  return unmeasured > 0 ? `${fits}; ${count(unmeasured)} cannot be measured.` : `${fits}.`;
}

/** The model's classes typed as "walking, running": in output order; null when left empty (the training labels, sorted). */
export function parseLabels(text: string): string[] | null {
  const labels = text
    .split(",")
    .map((label) => label.trim())
    .filter((label) => label !== "");
  return labels.length ? labels : null;
}
