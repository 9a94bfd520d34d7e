/** The earlier runs an optimized run refers to: the baseline it starts from (pruning, QAT) and is
 * compared with, and for distillation the teacher. "Automatic" leaves the choice to the API. */
import type { Schemas } from "../../api/client";
import { isOptimized, needsBaseline } from "../../lib/optimization";

type Run = Schemas["TrainingRunOut"];

export function OptimizationRuns({
  runs,
  params,
  baseline,
  teacher,
  onBaseline,
  onTeacher,
  disabled,
}: {
  /** Succeeded runs of this impulse's learning block, newest first. */
  runs: Run[];
  params: Record<string, unknown>;
  baseline: number | null;
  teacher: number | null;
  onBaseline: (id: number | null) => void;
  onTeacher: (id: number | null) => void;
  disabled: boolean;
}) {
  if (!isOptimized(params)) return null;
  const plain = runs.filter((r) => !isOptimized((r.metrics as { params?: Record<string, unknown> }).params));
  const distilling = !!(params.optimization as { distillation?: boolean }).distillation;
  const label = (r: Run) => {
    const acc = (r.metrics as { evaluation?: { int8?: { test?: { accuracy?: number } } } }).evaluation?.int8?.test?.accuracy;
    return `run #${r.id}${acc !== undefined ? ` · int8 test ${(acc * 100).toFixed(1)} %` : ""}`;
  };
  return (
    <div className="inline-form">
      <label className="field">
        <span>Baseline run {needsBaseline(params) ? "(the model to optimize)" : "(to compare with)"}</span>
        <select name="baseline-run" value={baseline ?? ""} disabled={disabled} onChange={(e) => onBaseline(e.target.value ? Number(e.target.value) : null)}>
          <option value="">Automatic: the newest run without optimization</option>
          {plain.map((r) => (
            <option key={r.id} value={r.id}>
              {label(r)}
            </option>
          ))}
        </select>
      </label>
      {distilling && (
        <label className="field">
          <span>Teacher</span>
          <select name="teacher-run" value={teacher ?? ""} disabled={disabled} onChange={(e) => onTeacher(e.target.value ? Number(e.target.value) : null)}>
            <option value="">Train a teacher twice as wide first</option>
            {runs.map((r) => (
              <option key={r.id} value={r.id}>
                {label(r)}
              </option>
            ))}
          </select>
        </label>
      )}
      {needsBaseline(params) && plain.length === 0 && (
        <p className="error-note">Pruning and quantization-aware training start from a trained model: train once without optimization first.</p>
      )}
    </div>
  );
}
