/** Following a job live over server-sent events. */
import { useEffect, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import type { Job } from "./client";
import { keys, refresh } from "./queries";

/** The job as it changes (null until the first event); the stream closes at the `end` event. */
export function useJobEvents(projectId: number, jobId: number | null | undefined): Job | null {
  const [state, setState] = useState<{ id: number; job: Job } | null>(null);
  const queryClient = useQueryClient();
  useEffect(() => {
    if (jobId == null) return;
    const source = new EventSource(`/api/projects/${projectId}/jobs/${jobId}/events`, { withCredentials: true });
    source.addEventListener("job", (event) => {
      setState({ id: jobId, job: JSON.parse((event as MessageEvent<string>).data) as Job });
    });
    source.addEventListener("end", () => {
      source.close();
      void refresh(queryClient, keys.jobs(projectId));
      void refresh(queryClient, ["project", projectId, "job", jobId]);
      // Runs and builds carry the job's status and metrics: refresh them when it ends.
      void refresh(queryClient, ["project", projectId, "training-runs"]);
      void refresh(queryClient, ["project", projectId, "deployments"]);
    });
    return () => source.close();
  }, [projectId, jobId, queryClient]);
  return state && state.id === jobId ? state.job : null;
}

export const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

/** Whether a job has reached an end state. */
export function isFinished(job: Job | null | undefined): boolean {
  return Boolean(job && FINISHED.has(job.status));
}
