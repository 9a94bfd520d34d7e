/** Training: start a run, follow it live (curves, log), then read its results; compare experiments. */
import { useMemo, useState } from "react";
import { Link, useOutletContext, useSearchParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, unwrap, type Job, type Project, type Schemas } from "../api/client";
import { isFinished, useJobEvents } from "../api/jobs";
import { atLeast, effectiveStatus, refresh, useJobStatuses, useSummary } from "../api/queries";
import { JobProgress } from "../components/JobProgress";
import { SchemaForm } from "../components/SchemaForm";
import { TrainingWarnings } from "../components/TrainingWarnings";
import { OptimizationReport } from "../components/training/OptimizationReport";
import { OptimizationRuns } from "../components/training/OptimizationRuns";
import { Curves, percent, Results, type TrainResult } from "../components/training/Results";
import { Card, EmptyState, ErrorNote, formatDate, Loading, StatusBadge } from "../components/ui";
import { optimizationName } from "../lib/optimization";
import { formProblems, messageInWords, type JsonSchema } from "../lib/schemaForm";
import { useBlocks, useImpulses } from "../api/impulses";
import { ImpulsePicker, useChosenImpulse } from "../components/impulse/ImpulsePicker";

type Run = Schemas["TrainingRunOut"];

function RunView({ run, baseline, projectId, windowMs }: { run: Run; baseline: Run | undefined; projectId: number; windowMs: number }) {
  const live = useJobEvents(projectId, run.job_id);
  const job = live as (Job & { log_tail?: string }) | null;
  const result = (job?.result ?? null) as TrainResult | null;
  const params = (run.metrics as { params?: Record<string, unknown> }).params ?? {};
  return (
    <>
      <Card title={`Training run #${run.id}`}>
        <JobProgress job={job} projectId={projectId} title="Training" />
        <TrainingWarnings metrics={run.metrics} live={job?.result} />
        {result?.epochs && result.kind !== "anomaly" && <Curves epochs={result.epochs} />}
        {job?.log_tail && (
          <details open={!isFinished(job)}>
            <summary>Log</summary>
            <pre className="log">{job.log_tail}</pre>
          </details>
        )}
      </Card>
      {job?.status === "succeeded" && result?.optimization && (
        <OptimizationReport
          runId={run.id}
          params={params}
          result={result}
          baselineId={run.baseline_run_id ?? null}
          baseline={baseline?.metrics as TrainResult | undefined}
        />
      )}
      {job?.status === "succeeded" && result && <Results result={result} projectId={projectId} windowMs={windowMs} />}
    </>
  );
}

/** Which learning block a run trained (known once it has run): its number and kind. */
function runBlock(run: Run): string {
  const metrics = run.metrics as {
    learn_index?: number;
    kind?: string;
    anomaly?: { test?: { roc_auc?: number | null } } | null;
    uploaded_model?: { name: string };
  };
  if (metrics.uploaded_model) return `uploaded model "${metrics.uploaded_model.name}"`;
  if (metrics.learn_index === undefined) return "—";
  const auc = metrics.anomaly?.test?.roc_auc;
  const kind = metrics.kind === "anomaly" ? `anomaly${auc != null ? `, AUC ${auc.toFixed(3)}` : ""}` : (metrics.kind ?? "");
  const optimized = optimizationName((run.metrics as { params?: Record<string, unknown> }).params);
  const against = run.baseline_run_id ? ` vs #${run.baseline_run_id}` : "";
  return `${metrics.learn_index + 1}${kind ? ` · ${kind}` : ""}${optimized ? ` · ${optimized}${against}` : ""}`;
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
  const [baselineRun, setBaselineRun] = useState<number | null>(null);
  const [teacherRun, setTeacherRun] = useState<number | null>(null);
  const [paramsFor, setParamsFor] = useState<string | null>(impulse ? `${impulse.id}:0` : null);
  // Settings typed for one learning block do not carry over to another block or impulse.
  const paramsKey = impulse ? `${impulse.id}:${learnIndex}` : null;
  if (paramsFor !== paramsKey) {
    if (paramsFor?.split(":")[0] !== String(impulse?.id ?? "")) setLearnIndex(0);
    setParamsFor(paramsKey);
    setParams(null);
    setNormalLabels(null);
    setBaselineRun(null);
    setTeacherRun(null);
  }
  // A link may name the run to show (`?run=`), e.g. an uploaded model's run from the Models page.
  const [search] = useSearchParams();
  const [selectedRun, setSelectedRun] = useState<number | null>(Number(search.get("run")) || null);
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
            baseline_run_id: baselineRun,
            teacher_run_id: teacherRun,
          },
        }),
      ),
    onSuccess: (run) => {
      setSelectedRun(run.id);
      void refresh(queryClient, ["project", project.id, "training-runs"]);
    },
  });
  const retrain = useMutation({
    mutationFn: (id: number) =>
      unwrap(api.POST("/api/projects/{project_id}/training-runs/{run_id}/retrain", { params: { path: { project_id: project.id, run_id: id } } })),
    onSuccess: (run) => {
      setSelectedRun(run.id);
      void refresh(queryClient, ["project", project.id, "training-runs"]);
    },
  });
  const schema = useMemo(() => (learnInfo?.parameters_schema ?? {}) as JsonSchema, [learnInfo]);
  const values = params ?? learn?.params ?? {};
  const problems = learnInfo ? formProblems(schema, values) : [];
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
          {editor ? (
            <p>
              Training needs an impulse: <Link to={`/projects/${project.id}/impulse`}>design one</Link> (window, processing and learning blocks), save it, then
              come back.
            </p>
          ) : (
            <p>Training needs an impulse. When an editor designs one and trains it, its runs show here.</p>
          )}
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
                <option key={i} value={i}>
                  {i + 1} · {blocks.data?.learn.find((x) => x.name === b.block)?.title ?? b.block}
                </option>
              ))}
            </select>
          </label>
        )}
        {learnInfo && <p className="muted small">{learnInfo.title}: settings for this run (the impulse's are the defaults).</p>}
        {blocks.isPending && <Loading what="the learning block's settings" />}
        <ErrorNote error={blocks.error} />
        {blocks.data && !learnInfo && (
          <p className="error-note" role="alert">
            The learning block “{learn?.block}” is not in this studio's catalog: its settings cannot be shown, and it cannot be trained here.
          </p>
        )}
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
        {learnInfo && <SchemaForm schema={schema} values={values} onChange={setParams} disabled={!editor} />}
        <OptimizationRuns
          runs={(runs.data ?? []).filter(
            (r) => r.impulse_id === impulse.id && (r.metrics as { learn_index?: number }).learn_index === learnIndex && status(r) === "succeeded",
          )}
          params={params ?? learn?.params ?? {}}
          baseline={baselineRun}
          teacher={teacherRun}
          onBaseline={setBaselineRun}
          onTeacher={setTeacherRun}
          disabled={!editor}
        />
        {editor && (
          <div className="inline-form">
            <button
              className="btn btn-primary"
              disabled={train.isPending || !learnInfo || problems.length > 0 || (anomaly && normalLabels !== null && normalLabels.length === 0)}
              aria-describedby={problems.length ? "training-problems" : undefined}
              onClick={() => train.mutate()}
            >
              {train.isPending ? "Starting…" : "Start training"}
            </button>
            {problems.length > 0 && (
              <p className="field-error" id="training-problems" role="status">
                To start: {problems[0]}
                {problems.length > 1 && ` (and ${problems.length - 1} more, marked above)`}.
              </p>
            )}
          </div>
        )}
        {/* The server names the setting by its path ("params.epochs"); the label says it in words. */}
        <ErrorNote
          error={train.error && (train.error instanceof ApiError ? messageInWords(train.error.message, train.error.field, schema, "params.") : train.error)}
        />
      </Card>
      {current && current.job_id !== null && (
        <RunView
          key={current.id}
          run={current}
          baseline={runs.data?.find((r) => r.id === current.baseline_run_id)}
          projectId={project.id}
          windowMs={(impulse.spec as { input?: { window_ms?: number } }).input?.window_ms ?? 0}
        />
      )}
      <Card title="Experiments">
        <ErrorNote error={retrain.error} />
        {runs.data?.length === 0 && <p className="muted">No training runs yet. Start one above.</p>}
        {runs.data && runs.data.length > 0 && (
          <div className="table-wrap">
            <table className="table compact">
              <thead>
                <tr>
                  <th>Run</th>
                  <th>Impulse</th>
                  <th>Block</th>
                  <th>Status</th>
                  <th>float32 test</th>
                  <th>int8 test</th>
                  <th>int8 validation</th>
                  <th>Epochs</th>
                  <th>Started</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {runs.data.map((r) => {
                  const ev = (r.metrics as TrainResult).evaluation;
                  return (
                    <tr key={r.id} aria-current={current?.id === r.id}>
                      <td>
                        #{r.id}
                        {r.retrained_from_id ? ` (from #${r.retrained_from_id})` : ""}
                      </td>
                      <td>{impulses.data?.find((i) => i.id === r.impulse_id)?.name ?? `#${r.impulse_id}`}</td>
                      <td className="small">{runBlock(r)}</td>
                      <td>
                        <StatusBadge status={effectiveStatus(r, statuses)} />
                      </td>
                      <td>{percent(ev?.float32?.test?.accuracy)}</td>
                      <td>{percent(ev?.int8?.test?.accuracy)}</td>
                      <td>{percent(ev?.int8?.validation?.accuracy)}</td>
                      <td>{String((r.metrics as { epochs?: number }).epochs ?? "—")}</td>
                      <td className="muted small">{formatDate(r.created_at)}</td>
                      <td>
                        <div className="row-actions">
                          <button className="btn btn-small" onClick={() => setSelectedRun(r.id)} disabled={current?.id === r.id}>
                            {current?.id === r.id ? "Shown" : "Show"}
                          </button>
                          {editor && (
                            <button
                              className="btn btn-small"
                              title="Train again with the same impulse version, data and settings"
                              onClick={() => retrain.mutate(r.id)}
                            >
                              Retrain
                            </button>
                          )}
                        </div>
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
