/** A job's live state: status, progress bar, message, error, and a cancel button while it runs. */
import { useMutation } from "@tanstack/react-query";
import { api, unwrap, type Job } from "../api/client";
import { isFinished } from "../api/jobs";
import { ErrorNote, formatDuration, ProgressBar, StatusBadge } from "./ui";
import { useCanEdit } from "./ReadOnly";

export function JobProgress({ job, projectId, title }: { job: Job | null; projectId: number; title: string }) {
  const canCancel = useCanEdit();
  const cancel = useMutation({
    mutationFn: (id: number) =>
      unwrap(api.POST("/api/projects/{project_id}/jobs/{job_id}/cancel", { params: { path: { project_id: projectId, job_id: id } } })),
  });
  if (!job)
    return (
      <p className="muted" role="status">
        Waiting for the job to start…
      </p>
    );
  const running = !isFinished(job);
  const elapsed = job.started_at ? (job.finished_at ? Date.parse(job.finished_at) : Date.now()) - Date.parse(job.started_at) : 0;
  return (
    <div className="job" aria-live="polite" data-job-status={job.status}>
      <div className="job-line">
        <strong>{title}</strong> <StatusBadge status={job.status} />
        <span className="muted small">
          {job.progress_message}
          {elapsed > 0 && ` · ${formatDuration(elapsed)}`}
        </span>
        {running && canCancel && (
          <button className="btn btn-small" disabled={cancel.isPending || job.cancel_requested} onClick={() => cancel.mutate(job.id)}>
            {job.cancel_requested ? "Cancelling…" : "Cancel"}
          </button>
        )}
      </div>
      {running && <ProgressBar value={job.progress} label={`${title} progress`} />}
      {job.error && (
        <p className="error-note" role="alert">
          {job.error}
        </p>
      )}
      <ErrorNote error={cancel.error} />
    </div>
  );
}
