/** Deployment: build a trained model as a C library, an Arduino library or board firmware; download it. */
import { useState } from "react";
import { Link, useOutletContext, useSearchParams } from "react-router-dom";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Project, type Schemas } from "../api/client";
import { useJobEvents } from "../api/jobs";
import { atLeast, effectiveStatus, refresh, useJobStatuses } from "../api/queries";
import { DeviceFigures, figuresView } from "../components/DeviceFigures";
import { JobProgress } from "../components/JobProgress";
import { DifferingScores, ScoreStat } from "../components/ScoreComparison";
import { Card, EmptyState, formatBytes, formatDate, Loading, StatusBadge } from "../components/ui";
import { anomalyRunLabel, BuildCard, isAnomalyRun } from "../components/deployment/BuildCard";

type Deployment = Schemas["DeploymentOut"];
type AnomalyBlock = { clusters?: number; threshold?: number };

function DeploymentView({ deployment, projectId }: { deployment: Deployment; projectId: number }) {
  const queryClient = useQueryClient();
  const job = useJobEvents(projectId, deployment.job_id);
  const fresh = useQuery({
    queryKey: ["project", projectId, "deployment", deployment.id, job?.status],
    queryFn: () =>
      unwrap(api.GET("/api/projects/{project_id}/deployments/{deployment_id}", { params: { path: { project_id: projectId, deployment_id: deployment.id } } })),
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
                <span className="muted small">
                  {formatBytes(a.size_bytes)} · sha256 {a.sha256.slice(0, 12)}…
                </span>
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
                {deviceTest.source === "browser"
                  ? `Tested in the browser on ${deviceTest.board}`
                  : `Tested by the studio on ${deviceTest.board}${deviceTest.job_id != null ? ` (job #${deviceTest.job_id})` : ""}`}
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
  const editor = atLeast(project.role, "editor");
  const runs = useQuery({
    queryKey: ["project", project.id, "training-runs"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/training-runs", { params: { path: { project_id: project.id } } })),
  });
  const deployments = useQuery({
    queryKey: ["project", project.id, "deployments"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/deployments", { params: { path: { project_id: project.id } } })),
  });
  // A link may name the run to deploy (`?run=`), e.g. an uploaded model's run from the Models page.
  const [search] = useSearchParams();
  const [shown, setShown] = useState<number | null>(null);
  const { statuses, isPending: statusesPending } = useJobStatuses(project.id);
  const succeeded = (runs.data ?? []).filter((r) => effectiveStatus(r, statuses) === "succeeded");
  const trained = succeeded.filter((r) => !isAnomalyRun(r));
  if (runs.isPending || statusesPending) return <Loading what="trained models" />;
  if (!trained.length) {
    return (
      <>
        <h1>Deployment</h1>
        <EmptyState title="Train a model first">
          {editor ? (
            <p>
              Deployment builds a trained model for your device. <Link to={`/projects/${project.id}/training`}>Train one</Link>, then come back.
            </p>
          ) : (
            <p>Deployment builds a trained model for a device. When an editor trains a model and builds it, the builds show here.</p>
          )}
        </EmptyState>
      </>
    );
  }
  const current = deployments.data?.find((d) => d.id === shown) ?? deployments.data?.[0] ?? null;
  return (
    <>
      <h1>Deployment</h1>
      {editor && <BuildCard projectId={project.id} succeeded={succeeded} initialRun={Number(search.get("run")) || null} onBuilt={setShown} />}
      {current && <DeploymentView key={current.id} deployment={current} projectId={project.id} />}
      <Card title="Builds">
        {deployments.data?.length === 0 && <p className="muted">Nothing built yet.</p>}
        <ul className="list">
          {deployments.data?.map((d) => (
            <li key={d.id} className="list-row">
              <span>
                <strong>#{d.id}</strong> {d.target}
                {d.board_id ? ` · ${d.board_id}` : ""} · run #{d.training_run_id}
                {d.anomaly_run_id != null ? ` + anomaly run #${d.anomaly_run_id}` : ""} <span className="muted small">{formatDate(d.created_at)}</span>
              </span>
              <span className="row-actions">
                <StatusBadge status={effectiveStatus(d, statuses)} />
                <button className="btn btn-small" onClick={() => setShown(d.id)} disabled={current?.id === d.id}>
                  {current?.id === d.id ? "Shown" : "Show"}
                </button>
              </span>
            </li>
          ))}
        </ul>
      </Card>
    </>
  );
}
