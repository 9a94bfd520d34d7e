/** A project's dashboard: the getting-started steps, its data at a glance, recent jobs and activity. */
import { Link, useOutletContext } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Project } from "../api/client";
import { effectiveStatus, keys, useJobStatuses, useSummary } from "../api/queries";
import { Card, EmptyState, ErrorNote, formatDate, formatDuration, Loading, StatusBadge } from "../components/ui";
import { SplitBar } from "../components/SplitBar";
import { GettingStarted } from "../components/dashboard/GettingStarted";

export function DashboardPage() {
  const project = useOutletContext<Project>();
  const summary = useSummary(project.id);
  const jobs = useQuery({
    queryKey: keys.jobs(project.id),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/jobs", { params: { path: { project_id: project.id } } })),
    refetchInterval: 5000,
  });
  const activity = useQuery({
    queryKey: ["project", project.id, "activity"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/activity", { params: { path: { project_id: project.id }, query: { limit: 15 } } })),
  });
  const impulses = useQuery({
    queryKey: ["project", project.id, "impulses"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/impulses", { params: { path: { project_id: project.id } } })),
  });
  const runs = useQuery({
    queryKey: ["project", project.id, "training-runs"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/training-runs", { params: { path: { project_id: project.id } } })),
  });
  const { statuses } = useJobStatuses(project.id);
  const cats = summary.data?.categories ?? {};
  const training = cats["training"]?.count ?? 0;
  const testing = cats["testing"]?.count ?? 0;
  const total = Object.values(cats).reduce((n, c) => n + (c?.count ?? 0), 0);
  const duration = Object.values(cats).reduce((n, c) => n + (c?.duration_ms ?? 0), 0);
  return (
    <>
      <header className="page-header">
        <div>
          <h1>{project.name}</h1>
          <p className="muted">
            {project.description || "No description yet"} · you are {project.role}
          </p>
        </div>
      </header>
      <GettingStarted projectId={project.id} />
      <div className="stats">
        <div className="stat">
          <span className="stat-value">{total}</span>
          <span className="stat-label">samples</span>
        </div>
        <div className="stat">
          <span className="stat-value">{formatDuration(duration)}</span>
          <span className="stat-label">of data</span>
        </div>
        <div className="stat">
          <span className="stat-value">{summary.data?.labels.length ?? 0}</span>
          <span className="stat-label">labels</span>
        </div>
        <div className="stat">
          <span className="stat-value">{jobs.data?.total ?? 0}</span>
          <span className="stat-label">jobs</span>
        </div>
      </div>
      <div className="grid-2">
        <Card title="Data">
          {summary.isPending && <Loading what="the data summary" />}
          <ErrorNote error={summary.error} />
          {summary.data && total === 0 && (
            <EmptyState title="No data yet">
              <p>
                <Link to={`/projects/${project.id}/data`}>Upload files</Link> (CSV, JSON, CBOR, WAV) or{" "}
                <Link to={`/projects/${project.id}/devices`}>record from a board</Link>.
              </p>
            </EmptyState>
          )}
          {summary.data && total > 0 && (
            <>
              <SplitBar training={training} testing={testing} />
              <table className="table">
                <thead>
                  <tr>
                    <th>Label</th>
                    <th>Training</th>
                    <th>Testing</th>
                  </tr>
                </thead>
                <tbody>
                  {summary.data.labels.map((label) => (
                    <tr key={label}>
                      <td>{label}</td>
                      <td>{cats["training"]?.labels[label]?.count ?? 0}</td>
                      <td>{cats["testing"]?.labels[label]?.count ?? 0}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </Card>
        <Card title="Recent jobs">
          {jobs.isPending && <Loading what="the jobs" />}
          {jobs.data && jobs.data.items.length === 0 && <p className="muted">No jobs have run yet. Training, exports and builds show up here.</p>}
          <ErrorNote error={jobs.error} />
          <ul className="list">
            {jobs.data?.items.slice(0, 8).map((job) => (
              <li key={job.id} className="list-row">
                <div>
                  <strong>{job.kind}</strong> <span className="muted">#{job.id}</span>
                  <div className="muted small">{job.progress_message || formatDate(job.created_at)}</div>
                  {job.error && <div className="error-text small">{job.error}</div>}
                </div>
                <StatusBadge status={job.status} />
              </li>
            ))}
          </ul>
        </Card>
      </div>
      <Card title="Impulses and training runs">
        {(impulses.isPending || runs.isPending) && <Loading what="impulses and training runs" />}
        <ErrorNote error={impulses.error || runs.error} />
        {impulses.data?.length === 0 && (
          <p className="muted">
            No impulse yet. <Link to={`/projects/${project.id}/impulse`}>Design one</Link> once you have data.
          </p>
        )}
        <ul className="list compact">
          {impulses.data?.map((i) => (
            <li key={i.id} className="list-row">
              <span>
                <Link to={`/projects/${project.id}/impulse`}>
                  <strong>{i.name}</strong>
                </Link>{" "}
                <span className="muted small">version {i.version}</span>
              </span>
              <span className="muted small">
                {(i.spec as { dsp?: { block: string }[]; learn?: { block: string }[] }).dsp?.map((d) => d.block).join(" + ")} →{" "}
                {(i.spec as { learn?: { block: string }[] }).learn?.map((l) => l.block).join(" + ")}
              </span>
            </li>
          ))}
          {runs.data?.slice(0, 5).map((r) => {
            const acc = (r.metrics as { evaluation?: { int8?: { test?: { accuracy?: number } } } }).evaluation?.int8?.test?.accuracy;
            return (
              <li key={`run${r.id}`} className="list-row">
                <span>
                  <Link to={`/projects/${project.id}/training`}>Training run #{r.id}</Link>
                  <span className="muted small"> · {formatDate(r.created_at)}</span>
                </span>
                <span>
                  {acc !== undefined && <span className="small">int8 test accuracy {(acc * 100).toFixed(1)} % </span>}
                  <StatusBadge status={effectiveStatus(r, statuses)} />
                </span>
              </li>
            );
          })}
        </ul>
      </Card>
      <Card title="Activity">
        {activity.isPending && <Loading what="the activity" />}
        <ErrorNote error={activity.error} />
        {activity.data && activity.data.items.length === 0 && <p className="muted">Nothing has happened yet.</p>}
        <ul className="list compact">
          {activity.data?.items.map((a) => (
            <li key={a.id} className="list-row">
              <span>
                <strong>{a.actor ?? "system"}</strong> {a.action.replace(/[._]/g, " ")}
                {typeof a.details.count === "number" ? ` (${a.details.count})` : ""}
              </span>
              <span className="muted small">{formatDate(a.created_at)}</span>
            </li>
          ))}
        </ul>
      </Card>
    </>
  );
}
