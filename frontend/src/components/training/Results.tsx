/** A finished training run's results: learning curves, accuracy of float32 and int8, the
 * confusion matrix (click a cell for its windows) and the misclassified test windows. */
import { useState } from "react";
import { Link } from "react-router-dom";
import { AnomalyResults } from "../AnomalyResults";
import { LineChart } from "../LineChart";
import type { OptimizationReport } from "../../lib/optimization";
import { Card } from "../ui";

export interface PerClass {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}
export interface Evaluation {
  accuracy: number;
  macro_f1?: number;
  per_class?: PerClass[];
  confusion_matrix?: number[][];
  labels?: string[];
  count?: number;
  loss?: number;
}
export interface TestWindow {
  sample_id: number;
  window_start_ms: number;
  label: string | null;
  float32?: string | number;
  int8?: string | number;
  correct_int8?: boolean;
  score?: number;
}
export interface TrainResult {
  classes?: string[];
  kind?: string;
  epochs?: { epoch: number; loss?: number; accuracy?: number; val_loss?: number; val_accuracy?: number }[];
  evaluation?: Record<"float32" | "int8", Record<"validation" | "test", Evaluation | undefined> | undefined>;
  test_windows?: TestWindow[];
  model_bytes?: { float32_tflite: number; int8_tflite: number };
  windows?: { train: number; validation: number; test: number };
  anomaly?: { threshold?: number; test?: Evaluation & { roc_auc?: number | null } };
  optimization?: OptimizationReport | null;
}

export const percent = (v: number | undefined) => (v === undefined ? "—" : `${(v * 100).toFixed(1)} %`);

export function Curves({ epochs }: { epochs: NonNullable<TrainResult["epochs"]> }) {
  if (!epochs.length) return <p className="muted small">The first epoch is running…</p>;
  const t = epochs.map((e) => e.epoch);
  const pick = (key: keyof (typeof epochs)[number]) => epochs.map((e) => Number(e[key] ?? NaN));
  const has = (key: keyof (typeof epochs)[number]) => epochs.some((e) => e[key] !== undefined);
  const format = (v: number) => `${Math.round(v)}`;
  return (
    <div className="side-by-side">
      <LineChart
        label="Loss per epoch"
        width={440}
        height={220}
        t={t}
        xFormat={format}
        xStep={1}
        series={[{ name: "loss", values: pick("loss") }, ...(has("val_loss") ? [{ name: "validation loss", values: pick("val_loss") }] : [])]}
      />
      {has("accuracy") && (
        <LineChart
          label="Accuracy per epoch"
          width={440}
          height={220}
          t={t}
          xFormat={format}
          xStep={1}
          series={[
            { name: "accuracy", values: pick("accuracy") },
            ...(has("val_accuracy") ? [{ name: "validation accuracy", values: pick("val_accuracy") }] : []),
          ]}
        />
      )}
    </div>
  );
}

function windowLink(projectId: number, w: TestWindow, windowMs: number): string {
  return `/projects/${projectId}/data/${w.sample_id}?window=${w.window_start_ms}&length=${windowMs}`;
}

function ConfusionMatrix({
  evaluation,
  windows,
  model,
  projectId,
  windowMs,
}: {
  evaluation: Evaluation;
  windows: TestWindow[];
  model: "float32" | "int8";
  projectId: number;
  windowMs: number;
}) {
  const [cell, setCell] = useState<[number, number] | null>(null);
  const labels = evaluation.labels ?? [];
  const matrix = evaluation.confusion_matrix ?? [];
  const chosen = cell ? windows.filter((w) => w.label === labels[cell[0]] && w[model] === labels[cell[1]]) : [];
  return (
    <>
      <div className="table-wrap">
        <table className="table confusion" aria-label="Confusion matrix (rows: true label, columns: predicted)">
          <thead>
            <tr>
              <th>true \ predicted</th>
              {labels.map((l) => (
                <th key={l}>{l}</th>
              ))}
              <th>recall</th>
            </tr>
          </thead>
          <tbody>
            {matrix.map((row, i) => {
              const total = row.reduce((a, b) => a + b, 0);
              return (
                <tr key={labels[i]}>
                  <th scope="row">{labels[i]}</th>
                  {row.map((count, j) => (
                    <td key={j} className={`cell ${i === j ? "diag" : count ? "off" : ""} ${cell && cell[0] === i && cell[1] === j ? "selected" : ""}`}>
                      <button type="button" aria-label={`${count} windows of ${labels[i]} predicted as ${labels[j]}`} onClick={() => setCell([i, j])}>
                        {count}
                      </button>
                    </td>
                  ))}
                  <td className="muted">{total ? percent(row[i] / total) : "—"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {cell && (
        <div className="cell-windows" aria-live="polite">
          <h3>
            {labels[cell[0]]} predicted as {labels[cell[1]]}: {chosen.length} window(s)
          </h3>
          {chosen.length === 0 ? (
            <p className="muted small">No test windows here{windows.length ? "" : " (this run kept no per-window results)"}.</p>
          ) : (
            <ul className="list compact">
              {chosen.slice(0, 100).map((w, k) => (
                <li key={k} className="list-row">
                  <Link to={windowLink(projectId, w, windowMs)}>sample {w.sample_id}</Link>
                  <span className="muted small">window at {Math.round(w.window_start_ms)} ms</span>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </>
  );
}

export function Results({ result, projectId, windowMs }: { result: TrainResult; projectId: number; windowMs: number }) {
  const [model, setModel] = useState<"float32" | "int8">("int8");
  const evaluation = result.evaluation;
  const test = evaluation?.[model]?.test ?? evaluation?.[model]?.validation;
  const windows = result.test_windows ?? [];
  const misclassified = windows.filter((w) => w.label !== null && w.int8 !== undefined && w.int8 !== w.label);
  if (result.anomaly) {
    return (
      <AnomalyResults threshold={result.anomaly.threshold ?? 0} auc={result.anomaly.test?.roc_auc} normalLabels={result.classes ?? []} windows={windows} />
    );
  }
  if (!evaluation) return null;
  return (
    <>
      <Card title="Results">
        <div className="metrics">
          {(["float32", "int8"] as const).map((m) => (
            <div className="stat" key={m}>
              <span className="stat-value">{percent(evaluation[m]?.test?.accuracy ?? evaluation[m]?.validation?.accuracy)}</span>
              <span className="stat-label">
                {m === "int8" ? "int8 (quantized)" : "float32"} {evaluation[m]?.test ? "test" : "validation"} accuracy
              </span>
            </div>
          ))}
          <div className="stat">
            <span className="stat-value">{percent(evaluation.int8?.validation?.accuracy)}</span>
            <span className="stat-label">int8 validation accuracy</span>
          </div>
          {result.model_bytes && (
            <div className="stat">
              <span className="stat-value">{(result.model_bytes.int8_tflite / 1024).toFixed(1)} KB</span>
              <span className="stat-label">int8 model ({(result.model_bytes.float32_tflite / 1024).toFixed(1)} KB float)</span>
            </div>
          )}
        </div>
        <div className="segmented" role="group" aria-label="Model">
          <button type="button" className={model === "int8" ? "active" : ""} aria-pressed={model === "int8"} onClick={() => setModel("int8")}>
            int8
          </button>
          <button type="button" className={model === "float32" ? "active" : ""} aria-pressed={model === "float32"} onClick={() => setModel("float32")}>
            float32
          </button>
        </div>
        {test && (
          <div className="side-by-side">
            <div>
              <h3>
                Confusion matrix ({model}, {evaluation[model]?.test ? "test set" : "validation set"})
              </h3>
              <ConfusionMatrix evaluation={test} windows={windows} model={model} projectId={projectId} windowMs={windowMs} />
            </div>
            <div>
              <h3>Per class</h3>
              <div className="table-wrap">
                <table className="table compact">
                  <thead>
                    <tr>
                      <th>Label</th>
                      <th>Precision</th>
                      <th>Recall</th>
                      <th>F1</th>
                      <th>Windows</th>
                    </tr>
                  </thead>
                  <tbody>
                    {test.per_class?.map((c) => (
                      <tr key={c.label}>
                        <td>{c.label}</td>
                        <td>{percent(c.precision)}</td>
                        <td>{percent(c.recall)}</td>
                        <td>{c.f1.toFixed(3)}</td>
                        <td>{c.support}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <h3>float32 vs int8 per split</h3>
              <div className="table-wrap">
                <table className="table compact">
                  <thead>
                    <tr>
                      <th>Split</th>
                      <th>float32</th>
                      <th>int8</th>
                    </tr>
                  </thead>
                  <tbody>
                    {(["validation", "test"] as const).map((split) => (
                      <tr key={split}>
                        <td>{split}</td>
                        <td>{percent(evaluation.float32?.[split]?.accuracy)}</td>
                        <td>{percent(evaluation.int8?.[split]?.accuracy)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </div>
          </div>
        )}
      </Card>
      <Card title={`Model testing: misclassified test windows (${misclassified.length} of ${windows.length})`}>
        {windows.length === 0 && <p className="muted">No test windows: move some samples to the testing category to test the model.</p>}
        {windows.length > 0 && misclassified.length === 0 && <p className="ok-note">Every test window is classified correctly by the int8 model.</p>}
        {misclassified.length > 0 && (
          <div className="table-wrap">
            <table className="table compact">
              <thead>
                <tr>
                  <th>Sample</th>
                  <th>Window</th>
                  <th>True</th>
                  <th>int8</th>
                  <th>float32</th>
                </tr>
              </thead>
              <tbody>
                {misclassified.slice(0, 200).map((w, i) => (
                  <tr key={i}>
                    <td>
                      <Link to={windowLink(projectId, w, windowMs)}>sample {w.sample_id}</Link>
                    </td>
                    <td>{Math.round(w.window_start_ms)} ms</td>
                    <td>{w.label}</td>
                    <td className="error-text">{String(w.int8)}</td>
                    <td>{String(w.float32)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </>
  );
}
