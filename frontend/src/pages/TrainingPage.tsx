/** Training: start a run, follow it live (curves, log), then read its results; compare experiments. */
import { useMemo, useState } from "react";
import { Link, useOutletContext } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Job, type Project, type Schemas } from "../api/client";
import { isFinished, useJobEvents } from "../api/jobs";
import { atLeast, effectiveStatus, useJobStatuses, useSummary } from "../api/queries";
import { JobProgress } from "../components/JobProgress";
import { LineChart } from "../components/LineChart";
import { AnomalyResults } from "../components/AnomalyResults";
import { SchemaForm } from "../components/SchemaForm";
import { Card, EmptyState, ErrorNote, formatDate, Loading, StatusBadge } from "../components/ui";
import type { JsonSchema } from "../lib/schemaForm";
import { ImpulsePicker, useBlocks, useChosenImpulse, useImpulses } from "./ImpulsePage";

type Run = Schemas["TrainingRunOut"];

interface PerClass { label: string; precision: number; recall: number; f1: number; support: number }
interface Evaluation { accuracy: number; macro_f1?: number; per_class?: PerClass[]; confusion_matrix?: number[][]; labels?: string[]; count?: number; loss?: number }
interface TestWindow { sample_id: number; window_start_ms: number; label: string | null; float32?: string | number; int8?: string | number; correct_int8?: boolean; score?: number }
interface TrainResult {
  classes?: string[];
  kind?: string;
  epochs?: { epoch: number; loss?: number; accuracy?: number; val_loss?: number; val_accuracy?: number }[];
  evaluation?: Record<"float32" | "int8", Record<"validation" | "test", Evaluation | undefined> | undefined>;
  test_windows?: TestWindow[];
  model_bytes?: { float32_tflite: number; int8_tflite: number };
  windows?: { train: number; validation: number; test: number };
  anomaly?: { threshold?: number; test?: Evaluation & { roc_auc?: number | null } };
}

const percent = (v: number | undefined) => (v === undefined ? "—" : `${(v * 100).toFixed(1)} %`);

function Curves({ epochs }: { epochs: NonNullable<TrainResult["epochs"]> }) {
  if (!epochs.length) return <p className="muted small">The first epoch is running…</p>;
  const t = epochs.map((e) => e.epoch);
  const pick = (key: keyof (typeof epochs)[number]) => epochs.map((e) => Number(e[key] ?? NaN));
  const has = (key: keyof (typeof epochs)[number]) => epochs.some((e) => e[key] !== undefined);
  const format = (v: number) => `${Math.round(v)}`;
  return (
    <div className="side-by-side">
      <LineChart label="Loss per epoch" width={440} height={220} t={t} xFormat={format} series={[{ name: "loss", values: pick("loss") }, ...(has("val_loss") ? [{ name: "validation loss", values: pick("val_loss") }] : [])]} />
      {has("accuracy") && (
        <LineChart label="Accuracy per epoch" width={440} height={220} t={t} xFormat={format} series={[{ name: "accuracy", values: pick("accuracy") }, ...(has("val_accuracy") ? [{ name: "validation accuracy", values: pick("val_accuracy") }] : [])]} />
      )}
    </div>
  );
}

function windowLink(projectId: number, w: TestWindow, windowMs: number): string {
  return `/projects/${projectId}/data/${w.sample_id}?window=${w.window_start_ms}&length=${windowMs}`;
}

function ConfusionMatrix({ evaluation, windows, model, projectId, windowMs }: { evaluation: Evaluation; windows: TestWindow[]; model: "float32" | "int8"; projectId: number; windowMs: number }) {
  const [cell, setCell] = useState<[number, number] | null>(null);
  const labels = evaluation.labels ?? [];
  const matrix = evaluation.confusion_matrix ?? [];
  const chosen = cell
    ? windows.filter((w) => w.label === labels[cell[0]] && w[model] === labels[cell[1]])
    : [];
  return (
    <>
      <div className="table-wrap">
        <table className="table confusion" aria-label="Confusion matrix (rows: true label, columns: predicted)">
          <thead>
            <tr>
              <th>true \ predicted</th>
              {labels.map((l) => <th key={l}>{l}</th>)}
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

function Results({ result, projectId, windowMs }: { result: TrainResult; projectId: number; windowMs: number }) {
  const [model, setModel] = useState<"float32" | "int8">("int8");
  const evaluation = result.evaluation;
  const test = evaluation?.[model]?.test ?? evaluation?.[model]?.validation;
  const windows = result.test_windows ?? [];
  const misclassified = windows.filter((w) => w.label !== null && w.int8 !== undefined && w.int8 !== w.label);
  if (result.anomaly) {
    return (
      <AnomalyResults
        threshold={result.anomaly.threshold ?? 0}
        auc={result.anomaly.test?.roc_auc}
        normalLabels={result.classes ?? []}
        windows={windows}
      />
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
              <span className="stat-label">{m === "int8" ? "int8 (quantized)" : "float32"} {evaluation[m]?.test ? "test" : "validation"} accuracy</span>
            </div>
          ))}
          <div className="stat"><span className="stat-value">{percent(evaluation.int8?.validation?.accuracy)}</span><span className="stat-label">int8 validation accuracy</span></div>
          {result.model_bytes && (
            <div className="stat"><span className="stat-value">{(result.model_bytes.int8_tflite / 1024).toFixed(1)} KB</span><span className="stat-label">int8 model ({(result.model_bytes.float32_tflite / 1024).toFixed(1)} KB float)</span></div>
          )}
        </div>
        <div className="segmented" role="group" aria-label="Model">
          <button type="button" className={model === "int8" ? "active" : ""} aria-pressed={model === "int8"} onClick={() => setModel("int8")}>int8</button>
          <button type="button" className={model === "float32" ? "active" : ""} aria-pressed={model === "float32"} onClick={() => setModel("float32")}>float32</button>
        </div>
        {test && (
          <div className="side-by-side">
            <div>
              <h3>Confusion matrix ({model}, {evaluation[model]?.test ? "test set" : "validation set"})</h3>
              <ConfusionMatrix evaluation={test} windows={windows} model={model} projectId={projectId} windowMs={windowMs} />
            </div>
            <div>
              <h3>Per class</h3>
              <table className="table compact">
                <thead><tr><th>Label</th><th>Precision</th><th>Recall</th><th>F1</th><th>Windows</th></tr></thead>
                <tbody>
                  {test.per_class?.map((c) => (
                    <tr key={c.label}><td>{c.label}</td><td>{percent(c.precision)}</td><td>{percent(c.recall)}</td><td>{c.f1.toFixed(3)}</td><td>{c.support}</td></tr>
                  ))}
                </tbody>
              </table>
              <h3>float32 vs int8 per split</h3>
              <table className="table compact">
                <thead><tr><th>Split</th><th>float32</th><th>int8</th></tr></thead>
                <tbody>
                  {(["validation", "test"] as const).map((split) => (
                    <tr key={split}><td>{split}</td><td>{percent(evaluation.float32?.[split]?.accuracy)}</td><td>{percent(evaluation.int8?.[split]?.accuracy)}</td></tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        )}
      </Card>
      <Card title={`Model testing: misclassified test windows (${misclassified.length} of ${windows.length})`}>
        {windows.length === 0 && <p className="muted">No test windows: move some samples to the testing category to test the model.</p>}
        {windows.length > 0 && misclassified.length === 0 && <p className="ok-note">Every test window is classified correctly by the int8 model.</p>}
        {misclassified.length > 0 && (
          <table className="table compact">
            <thead><tr><th>Sample</th><th>Window</th><th>True</th><th>int8</th><th>float32</th></tr></thead>
            <tbody>
              {misclassified.slice(0, 200).map((w, i) => (
                <tr key={i}>
                  <td><Link to={windowLink(projectId, w, windowMs)}>sample {w.sample_id}</Link></td>
                  <td>{Math.round(w.window_start_ms)} ms</td><td>{w.label}</td><td className="error-text">{String(w.int8)}</td><td>{String(w.float32)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}

function RunView({ run, projectId, windowMs }: { run: Run; projectId: number; windowMs: number }) {
  const live = useJobEvents(projectId, run.job_id);
  const job = live as (Job & { log_tail?: string }) | null;
  const result = (job?.result ?? null) as TrainResult | null;
  return (
    <>
      <Card title={`Training run #${run.id}`}>
        <JobProgress job={job} projectId={projectId} title="Training" />
        {result?.epochs && result.kind !== "anomaly" && <Curves epochs={result.epochs} />}
        {job?.log_tail && (
          <details open={!isFinished(job)}>
            <summary>Log</summary>
            <pre className="log">{job.log_tail}</pre>
          </details>
        )}
      </Card>
      {job?.status === "succeeded" && result && <Results result={result} projectId={projectId} windowMs={windowMs} />}
    </>
  );
}

/** Which learning block a run trained (known once it has run): its number and kind. */
function runBlock(run: Run): string {
  const metrics = run.metrics as { learn_index?: number; kind?: string; anomaly?: { test?: { roc_auc?: number | null } } | null };
  if (metrics.learn_index === undefined) return "—";
  const auc = metrics.anomaly?.test?.roc_auc;
  const kind = metrics.kind === "anomaly" ? `anomaly${auc != null ? `, AUC ${auc.toFixed(3)}` : ""}` : (metrics.kind ?? "");
  return `${metrics.learn_index + 1}${kind ? ` · ${kind}` : ""}`;
}

export function TrainingPage() {
  const project = useOutletContext<Project>();
  const queryClient = useQueryClient();
  const editor = atLeast(project.role, "editor");
  const impulses = useImpulses(project.id);
  const blocks = useBlocks();
  const { impulse, choose } = useChosenImpulse(impulses.data);
  const learnBlocks = (impulse?.spec as { learn?: { block: string; params: Record<string, unknown> }[] } | undefined)?.learn ?? [];
  const [learnIndex, setLearnIndex] = useState(0);
  const learn = learnBlocks[learnIndex] ?? learnBlocks[0];
  const learnInfo = blocks.data?.learn.find((b) => b.name === learn?.block);
  const anomaly = learnInfo?.kind === "anomaly";
  const summary = useSummary(project.id);
  const labels = summary.data?.labels ?? [];
  // null: every label of the training data is normal (the API's default).
  const [normalLabels, setNormalLabels] = useState<string[] | null>(null);
  const [params, setParams] = useState<Record<string, unknown> | null>(null);
  const [paramsFor, setParamsFor] = useState<string | null>(impulse ? `${impulse.id}:0` : null);
  // Settings typed for one learning block do not carry over to another block or impulse.
  const paramsKey = impulse ? `${impulse.id}:${learnIndex}` : null;
  if (paramsFor !== paramsKey) {
    if (paramsFor?.split(":")[0] !== String(impulse?.id ?? "")) setLearnIndex(0);
    setParamsFor(paramsKey);
    setParams(null);
    setNormalLabels(null);
  }
  const [selectedRun, setSelectedRun] = useState<number | null>(null);
  const runs = useQuery({
    queryKey: ["project", project.id, "training-runs"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/training-runs", { params: { path: { project_id: project.id } } })),
  });
  // The experiments list polls job statuses while one of its runs is queued or running.
  const [polling, setPolling] = useState(false);
  const { statuses } = useJobStatuses(project.id, polling);
  const active = (runs.data ?? []).some((r) => ["queued", "running"].includes(effectiveStatus(r, statuses)));
  if (active !== polling) setPolling(active);
  const train = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/projects/{project_id}/impulses/{impulse_id}/train", {
          params: { path: { project_id: project.id, impulse_id: impulse!.id } },
          body: {
            params: params ?? learn?.params ?? null,
            learn_index: learnBlocks[learnIndex] ? learnIndex : 0,
            normal_labels: anomaly ? normalLabels : null,
          },
        }),
      ),
    onSuccess: (run) => {
      setSelectedRun(run.id);
      void queryClient.invalidateQueries({ queryKey: ["project", project.id, "training-runs"] });
    },
  });
  const retrain = useMutation({
    mutationFn: (id: number) =>
      unwrap(api.POST("/api/projects/{project_id}/training-runs/{run_id}/retrain", { params: { path: { project_id: project.id, run_id: id } } })),
    onSuccess: (run) => {
      setSelectedRun(run.id);
      void queryClient.invalidateQueries({ queryKey: ["project", project.id, "training-runs"] });
    },
  });
  const schema = useMemo(() => (learnInfo?.parameters_schema ?? {}) as JsonSchema, [learnInfo]);
  // Without a choice: a run in progress, else the newest with results, else the newest.
  const status = (r: Run) => effectiveStatus(r, statuses);
  const current =
    runs.data?.find((r) => r.id === selectedRun) ??
    runs.data?.find((r) => status(r) === "running" || status(r) === "queued") ??
    runs.data?.find((r) => status(r) === "succeeded") ??
    runs.data?.[0] ??
    null;

  if (impulses.isPending || runs.isPending) return <Loading what="training" />;
  if (!impulse) {
    return (
      <>
        <h1>Training</h1>
        <EmptyState title="Design an impulse first">
          <p>Training needs an impulse: <Link to={`/projects/${project.id}/impulse`}>design one</Link> (window, processing and learning blocks), save it, then come back.</p>
        </EmptyState>
      </>
    );
  }
  return (
    <>
      <h1>Training</h1>
      {impulses.data && <ImpulsePicker impulses={impulses.data} current={impulse} onChoose={(id) => id !== "new" && choose(id)} allowNew={false} />}
      <Card title={`Train “${impulse.name}” (version ${impulse.version})`}>
        {learnBlocks.length > 1 && (
          <label className="field" style={{ maxWidth: 420 }}>
            <span>Learning block to train</span>
            <select name="learn-block" value={learnIndex} onChange={(e) => setLearnIndex(Number(e.target.value))}>
              {learnBlocks.map((b, i) => (
                <option key={i} value={i}>{i + 1} · {blocks.data?.learn.find((x) => x.name === b.block)?.title ?? b.block}</option>
              ))}
            </select>
          </label>
        )}
        <p className="muted small">{learnInfo?.title ?? learn?.block}: settings for this run (the impulse's are the defaults).</p>
        {anomaly && labels.length > 0 && (
          <fieldset className="normal-labels">
            <legend>Normal data (the anomaly model learns these labels; everything else should score as anomalous)</legend>
            {labels.map((label) => {
              const chosen = normalLabels ?? labels;
              return (
                <label key={label} className="field checkbox-field">
                  <input
                    type="checkbox"
                    checked={chosen.includes(label)}
                    disabled={!editor}
                    onChange={(e) => setNormalLabels(e.target.checked ? [...chosen, label] : chosen.filter((l) => l !== label))}
                  />{" "}
                  {label}
                </label>
              );
            })}
            {normalLabels !== null && normalLabels.length === 0 && <p className="error-note">Choose at least one normal label.</p>}
          </fieldset>
        )}
        <SchemaForm schema={schema} values={params ?? learn?.params ?? {}} onChange={setParams} disabled={!editor} />
        {editor && (
          <div className="inline-form">
            <button className="btn btn-primary" disabled={train.isPending || (anomaly && normalLabels !== null && normalLabels.length === 0)} onClick={() => train.mutate()}>
              {train.isPending ? "Starting…" : "Start training"}
            </button>
          </div>
        )}
        <ErrorNote error={train.error} />
      </Card>
      {current && current.job_id !== null && <RunView key={current.id} run={current} projectId={project.id} windowMs={(impulse.spec as { input?: { window_ms?: number } }).input?.window_ms ?? 0} />}
      <Card title="Experiments">
        <ErrorNote error={retrain.error} />
        {runs.data?.length === 0 && <p className="muted">No training runs yet. Start one above.</p>}
        {runs.data && runs.data.length > 0 && (
          <div className="table-wrap">
            <table className="table compact">
              <thead><tr><th>Run</th><th>Impulse</th><th>Block</th><th>Status</th><th>float32 test</th><th>int8 test</th><th>int8 validation</th><th>Epochs</th><th>Started</th><th /></tr></thead>
              <tbody>
                {runs.data.map((r) => {
                  const ev = (r.metrics as TrainResult).evaluation;
                  return (
                    <tr key={r.id} aria-current={current?.id === r.id}>
                      <td>#{r.id}{r.retrained_from_id ? ` (from #${r.retrained_from_id})` : ""}</td>
                      <td>{impulses.data?.find((i) => i.id === r.impulse_id)?.name ?? `#${r.impulse_id}`}</td>
                      <td className="small">{runBlock(r)}</td>
                      <td><StatusBadge status={effectiveStatus(r, statuses)} /></td>
                      <td>{percent(ev?.float32?.test?.accuracy)}</td>
                      <td>{percent(ev?.int8?.test?.accuracy)}</td>
                      <td>{percent(ev?.int8?.validation?.accuracy)}</td>
                      <td>{String((r.metrics as { epochs?: number }).epochs ?? "—")}</td>
                      <td className="muted small">{formatDate(r.created_at)}</td>
                      <td className="row-actions">
                        <button className="btn btn-small" onClick={() => setSelectedRun(r.id)} disabled={current?.id === r.id}>{current?.id === r.id ? "Shown" : "Show"}</button>
                        {editor && <button className="btn btn-small" title="Train again with the same impulse version, data and settings" onClick={() => retrain.mutate(r.id)}>Retrain</button>}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </>
  );
}
