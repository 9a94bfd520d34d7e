/** The tuner's API: runs, their trials and the defaults a new search starts from. */
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "./client";
import { prunedEpochs } from "../lib/tuner";

export type TunerBudgets = Schemas["Budgets"];
export type TunerTrial = Schemas["TunerTrialOut"];
export type TunerRunSummary = Schemas["TunerRunSummary"];
export type TunerRun = Schemas["TunerRunOut"];
export type TunerRunCreate = Schemas["TunerRunCreate"];
export type TunerApplied = Schemas["TunerApplyOut"];
export type TunerDefaults = Schemas["TunerDefaults"];

export const tunerKeys = {
  runs: (projectId: number) => ["project", projectId, "tuner-runs"] as const,
  run: (projectId: number, runId: number) => ["project", projectId, "tuner-runs", runId] as const,
  defaults: (projectId: number, boardId: string, impulseId: number | null) => ["project", projectId, "tuner-defaults", boardId, impulseId] as const,
};

// A run changes while it searches; the page follows it at this pace.
export const POLL_MS = 2000;

export function useTunerRuns(projectId: number) {
  return useQuery({
    queryKey: tunerKeys.runs(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/tuner-runs", { params: { path: { project_id: projectId } } })),
    refetchInterval: (query) => (query.state.data?.some((r) => r.status === "running") ? POLL_MS : false),
  });
}

export function useTunerRun(projectId: number, runId: number) {
  return useQuery({
    queryKey: tunerKeys.run(projectId, runId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/tuner-runs/{run_id}", { params: { path: { project_id: projectId, run_id: runId } } })),
    refetchInterval: (query) => (query.state.data?.status === "running" ? POLL_MS : false),
  });
}

export function useTunerDefaults(projectId: number, boardId: string, impulseId: number | null) {
  return useQuery({
    queryKey: tunerKeys.defaults(projectId, boardId, impulseId),
    queryFn: () =>
      unwrap(
        api.GET("/api/projects/{project_id}/tuner-defaults", {
          params: { path: { project_id: projectId }, query: { board_id: boardId, impulse_id: impulseId } },
        }),
      ),
    enabled: boardId !== "",
  });
}

export function startTunerRun(projectId: number, body: TunerRunCreate) {
  return unwrap(api.POST("/api/projects/{project_id}/tuner-runs", { params: { path: { project_id: projectId } }, body }));
}

export function cancelTunerRun(projectId: number, runId: number) {
  return unwrap(api.POST("/api/projects/{project_id}/tuner-runs/{run_id}/cancel", { params: { path: { project_id: projectId, run_id: runId } } }));
}

export function applyTunerTrial(projectId: number, runId: number, trialId: number, impulseId: number | null) {
  return unwrap(
    api.POST("/api/projects/{project_id}/tuner-runs/{run_id}/trials/{trial_id}/apply", {
      params: { path: { project_id: projectId, run_id: runId, trial_id: trialId } },
      body: { impulse_id: impulseId },
    }),
  );
}

/** When the pruner stopped each pruned trial (its training job's result says), by trial id. */
export function usePrunedEpochs(projectId: number, trials: TunerTrial[]): Map<number, number> {
  const jobIds = trials.filter((t) => t.status === "pruned" && t.train_job_id !== null).map((t) => t.train_job_id);
  const jobs = useQuery({
    queryKey: ["project", projectId, "jobs", "tuner.trial", jobIds],
    queryFn: () =>
      unwrap(api.GET("/api/projects/{project_id}/jobs", { params: { path: { project_id: projectId }, query: { kind: "tuner.trial", limit: 500 } } })),
    enabled: jobIds.length > 0,
    // A pruned trial's job has ended: its result stays as it is.
    staleTime: Infinity,
  });
  return prunedEpochs(trials, jobs.data?.items ?? []);
}
