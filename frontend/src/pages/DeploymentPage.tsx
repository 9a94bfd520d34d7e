/** Deployment: build a trained model as a C library, an Arduino library or board firmware; download it. */
import { useState } from "react";
import { Link, useOutletContext, useSearchParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Project, type Schemas } from "../api/client";
import { useJobEvents } from "../api/jobs";
import { atLeast, effectiveStatus, refresh, useJobStatuses } from "../api/queries";
import { DeviceFigures, figuresView } from "../components/DeviceFigures";
import { JobProgress } from "../components/JobProgress";
import { DifferingScores, ScoreStat } from "../components/ScoreComparison";
import { Card, EmptyState, ErrorNote, formatBytes, formatDate, Loading, StatusBadge } from "../components/ui";

type Deployment = Schemas["DeploymentOut"];
type TrainingRun = Schemas["TrainingRunOut"];
type Target = "c-library" | "arduino-library" | "firmware";
type AnomalyBlock = { clusters?: number; threshold?: number };
type RunMetrics = { kind?: string; params?: { clusters?: number }; anomaly?: { threshold?: number } };

const isAnomalyRun = (r: TrainingRun) => (r.metrics as RunMetrics).kind === "anomaly";

function anomalyRunLabel(runId: number, clusters?: number, threshold?: number) {
  const parts = ["K-means", clusters !== undefined ? `${clusters} clusters` : null, threshold !== undefined ? `threshold ${Number(threshold.toPrecision(3))}` : null];
  return `run #${runId} (${parts.filter(Boolean).join(", ")})`;
}

const TARGETS: { id: Target; title: string; text: string }[] = [
  { id: "c-library", title: "C library", text: "Plain C99 with the DSP and model, no dependencies; a Makefile/CMake example included." },
  { id: "arduino-library", title: "Arduino library", text: "A zip to add with Sketch → Include Library → Add .ZIP Library." },
  { id: "firmware", title: "Board firmware", text: "A ready image for a catalogued board, measured in QEMU (flash, RAM, latency)." },
];

function DeploymentView({ deployment, projectId }: { deployment: Deployment; projectId: number }) {
  const queryClient = useQueryClient();
  const job = useJobEvents(projectId, deployment.job_id);
  const fresh = useQuery({
    queryKey: ["project", projectId, "deployment", deployment.id, job?.status],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/deployments/{deployment_id}", { params: { path: { project_id: projectId, deployment_id: deployment.id } } })),
    enabled: job?.status === "succeeded",
  });
  if (fresh.data && fresh.data.status !== deployment.status) void refresh(queryClient, ["project", projectId, "deployments"]);
  const report = (fresh.data?.report ?? deployment.report) as { anomaly?: AnomalyBlock | null };
  const figures = fresh.data?.figures ?? deployment.figures;
  const deviceTest = fresh.data?.device_test ?? deployment.device_test;
  return (
    <Card title={`Build #${deployment.id}: ${deployment.target}${deployment.board_id ? ` for ${deployment.board_id}` : ""}`}>
      <p className="muted small" data-testid="deployment-anomaly">
        Anomaly detection:{" "}
        {deployment.anomaly_run_id != null
          ? `included, ${anomalyRunLabel(deployment.anomaly_run_id, report.anomaly?.clusters, report.anomaly?.threshold)}`
          : "none"}
      </p>
      <JobProgress job={job} projectId={projectId} title="Build" />
      {job?.status === "succeeded" && (
        <>
          <h3>Downloads</h3>
          <ul className="list compact downloads">
            {(job.artifacts ?? []).map((a) => (
              <li key={a.id} className="list-row">
                <a className="btn btn-primary btn-small" href={`/api/projects/${projectId}/artifacts/${a.id}/download`} download={a.name}>
                  Download {a.name}
                </a>
                <span className="muted small">{formatBytes(a.size_bytes)} · sha256 {a.sha256.slice(0, 12)}…</span>
              </li>
            ))}
          </ul>
          {figures && (
            <>
              <h3>Measured on the virtual board</h3>
              <DeviceFigures figures={figuresView(figures)} />
            </>
          )}
          {deviceTest && (
            <>
              <h3>Last on-device test</h3>
              <p className="muted small" data-testid="device-test-source">
                {deviceTest.source === "browser" ? `Tested in the browser on ${deviceTest.board}` : `Tested by the studio on ${deviceTest.board}${deviceTest.job_id != null ? ` (job #${deviceTest.job_id})` : ""}`}
              </p>
              <div className="metrics" data-testid="deployment-device-test">
                <div className="stat" data-metric="agreement">
                  <span className="stat-value">{deviceTest.agreement == null ? "—" : `${(deviceTest.agreement * 100).toFixed(1)} %`}</span>
                  <span className="stat-label">labels agree with the studio ({deviceTest.windows} windows)</span>
                </div>
                <ScoreStat scores={deviceTest.scores} />
              </div>
              <DifferingScores scores={deviceTest.scores} projectId={projectId} />
            </>
          )}
        </>
      )}
    </Card>
  );
}

export function DeploymentPage() {
  const project = useOutletContext<Project>();
  const queryClient = useQueryClient();
  const editor = atLeast(project.role, "editor");
  const runs = useQuery({
    queryKey: ["project", project.id, "training-runs"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/training-runs", { params: { path: { project_id: project.id } } })),
  });
  const boards = useQuery({ queryKey: ["boards"], queryFn: () => unwrap(api.GET("/api/boards")), staleTime: Infinity });
  const deployments = useQuery({
    queryKey: ["project", project.id, "deployments"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/deployments", { params: { path: { project_id: project.id } } })),
  });
  // A link may name the run to deploy (`?run=`), e.g. an uploaded model's run from the Models page.
  const [search] = useSearchParams();
  const [runId, setRunId] = useState<number | null>(Number(search.get("run")) || null);
  const [target, setTarget] = useState<Target>("c-library");
  const [boardId, setBoardId] = useState<string>("");
  const [anomalyChoice, setAnomalyChoice] = useState<{ runId: number; anomalyRunId: number } | null>(null);
  const [shown, setShown] = useState<number | null>(null);
  const { statuses, isPending: statusesPending } = useJobStatuses(project.id);
  const succeeded = (runs.data ?? []).filter((r) => effectiveStatus(r, statuses) === "succeeded");
  // Anomaly runs are not deployed alone: they join a model of the same impulse version.
  const trained = succeeded.filter((r) => !isAnomalyRun(r));
  const run = runId ?? trained[0]?.id ?? null;
  const chosenRun = trained.find((r) => r.id === run);
  const anomalyRuns = chosenRun ? succeeded.filter((r) => isAnomalyRun(r) && r.impulse_version_id === chosenRun.impulse_version_id) : [];
  // The choice belongs to the run it was made for; another run starts with none.
  const anomalyRunId = anomalyChoice && anomalyChoice.runId === run && anomalyRuns.some((r) => r.id === anomalyChoice.anomalyRunId) ? anomalyChoice.anomalyRunId : null;
  const board = boards.data?.find((b) => b.id === boardId);
  const deploy = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/projects/{project_id}/training-runs/{run_id}/deployments", {
          params: { path: { project_id: project.id, run_id: run! } },
          body: { target, board_id: target === "firmware" ? boardId : null, anomaly_run_id: anomalyRunId },
        }),
      ),
    onSuccess: (d) => {
      setShown(d.id);
      void refresh(queryClient, ["project", project.id, "deployments"]);
    },
  });
  if (runs.isPending || statusesPending) return <Loading what="trained models" />;
  if (!trained.length) {
    return (
      <>
        <h1>Deployment</h1>
        <EmptyState title="Train a model first">
          <p>Deployment builds a trained model for your device. <Link to={`/projects/${project.id}/training`}>Train one</Link>, then come back.</p>
        </EmptyState>
      </>
    );
  }
  const current = deployments.data?.find((d) => d.id === shown) ?? deployments.data?.[0] ?? null;
  return (
    <>
      <h1>Deployment</h1>
      <Card title="Build">
        <label className="field" style={{ maxWidth: 320 }}>
          <span>Trained model</span>
          <select name="run" value={run ?? ""} onChange={(e) => setRunId(Number(e.target.value))}>
            {trained.map((r) => {
              const acc = (r.metrics as { evaluation?: { int8?: { test?: { accuracy?: number } } } }).evaluation?.int8?.test?.accuracy;
              return <option key={r.id} value={r.id}>Run #{r.id}{acc !== undefined ? ` · int8 test ${(acc * 100).toFixed(1)} %` : ""}</option>;
            })}
          </select>
        </label>
        {anomalyRuns.length > 0 && (
          <label className="field" style={{ maxWidth: 420 }}>
            <span>Anomaly detection</span>
            <select
              name="anomaly-run"
              value={anomalyRunId ?? ""}
              onChange={(e) => setAnomalyChoice(e.target.value && run !== null ? { runId: run, anomalyRunId: Number(e.target.value) } : null)}
            >
              <option value="">none</option>
              {anomalyRuns.map((r) => {
                const metrics = r.metrics as RunMetrics;
                return <option key={r.id} value={r.id}>{anomalyRunLabel(r.id, metrics.params?.clusters, metrics.anomaly?.threshold)}</option>;
              })}
            </select>
            <span className="muted small">A K-means anomaly run of the same impulse version: every window also gets an anomaly score.</span>
          </label>
        )}
        <fieldset className="targets">
          <legend className="sr-only">Target</legend>
          {TARGETS.map((t) => (
            <label key={t.id} className="target">
              <input type="radio" name="target" value={t.id} checked={target === t.id} onChange={() => setTarget(t.id)} />
              <span><strong>{t.title}</strong><br /><span className="muted small">{t.text}</span></span>
            </label>
          ))}
        </fieldset>
        {target === "firmware" && (
          <div className="inline-form">
            <label className="field">
              <span>Board</span>
              <select name="board" value={boardId} onChange={(e) => setBoardId(e.target.value)}>
                <option value="">Choose a board…</option>
                {boards.data?.map((b) => (
                  <option key={b.id} value={b.id} disabled={!b.firmware_buildable}>
                    {b.name} ({b.core}, {formatBytes(b.flash_bytes)} flash, {formatBytes(b.ram_bytes)} RAM){b.firmware_buildable ? "" : " — not buildable here"}
                  </option>
                ))}
              </select>
            </label>
            {board && <span className="muted small">{board.flash_method} · {board.clock_hz / 1e6} MHz{board.qemu_machine ? ` · virtual: ${board.qemu_machine}` : ""}</span>}
          </div>
        )}
        {target === "firmware" && board && !board.firmware_buildable && <p className="error-note">{board.firmware_unavailable_reason}</p>}
        {target === "firmware" && boards.data && boards.data.some((b) => !b.firmware_buildable) && (
          <details className="small">
            <summary>Why some boards cannot be built here</summary>
            <ul>
              {boards.data.filter((b) => !b.firmware_buildable).map((b) => (
                <li key={b.id}><strong>{b.name}</strong>: {b.firmware_unavailable_reason ?? "no toolchain"}</li>
              ))}
            </ul>
          </details>
        )}
        {editor && (
          <button className="btn btn-primary" disabled={deploy.isPending || run === null || (target === "firmware" && !boardId)} onClick={() => deploy.mutate()}>
            {deploy.isPending ? "Starting…" : "Build"}
          </button>
        )}
        <ErrorNote error={deploy.error || boards.error} />
      </Card>
      {current && <DeploymentView key={current.id} deployment={current} projectId={project.id} />}
      <Card title="Builds">
        {deployments.data?.length === 0 && <p className="muted">Nothing built yet.</p>}
        <ul className="list">
          {deployments.data?.map((d) => (
            <li key={d.id} className="list-row">
              <span>
                <strong>#{d.id}</strong> {d.target}{d.board_id ? ` · ${d.board_id}` : ""} · run #{d.training_run_id}
                {d.anomaly_run_id != null ? ` + anomaly run #${d.anomaly_run_id}` : ""}{" "}
                <span className="muted small">{formatDate(d.created_at)}</span>
              </span>
              <span className="row-actions">
                <StatusBadge status={effectiveStatus(d, statuses)} />
                <button className="btn btn-small" onClick={() => setShown(d.id)} disabled={current?.id === d.id}>{current?.id === d.id ? "Shown" : "Show"}</button>
              </span>
            </li>
          ))}
        </ul>
      </Card>
    </>
  );
}
