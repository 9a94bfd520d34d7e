/** Query keys and hooks shared by several pages. */
import { useQuery, type QueryClient, type QueryKey } from "@tanstack/react-query";
import { api, unwrap } from "./client";

export const keys = {
  me: ["me"] as const,
  projects: ["projects"] as const,
  project: (id: number) => ["project", id] as const,
  samples: (id: number) => ["project", id, "samples"] as const,
  summary: (id: number) => ["project", id, "summary"] as const,
  overview: (id: number) => ["project", id, "overview"] as const,
  jobs: (id: number) => ["project", id, "jobs"] as const,
  members: (id: number) => ["project", id, "members"] as const,
};

/**
 * Refetch what a write changed. A query's first fetch still in flight is cancelled first: React
 * Query would otherwise hand the invalidation that fetch's promise, whose answer was read before
 * the write (an upload right after opening the page would not appear).
 */
export async function refresh(queryClient: QueryClient, queryKey: QueryKey): Promise<void> {
  await queryClient.cancelQueries({ queryKey });
  await queryClient.invalidateQueries({ queryKey });
}

export function useMe() {
  return useQuery({
    queryKey: keys.me,
    queryFn: () => unwrap(api.GET("/api/users/me")),
    retry: false,
  });
}

export function useProject(projectId: number) {
  return useQuery({
    queryKey: keys.project(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}", { params: { path: { project_id: projectId } } })),
  });
}

export function useSummary(projectId: number) {
  return useQuery({
    queryKey: keys.summary(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/samples/summary", { params: { path: { project_id: projectId } } })),
  });
}

/** Counts of what the project holds and how far it got (data, impulses, runs, builds, boards). */
export function useOverview(projectId: number) {
  return useQuery({
    queryKey: keys.overview(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/overview", { params: { path: { project_id: projectId } } })),
  });
}

const ROLE_RANK = { viewer: 0, editor: 1, admin: 2, owner: 3 } as const;

/** Whether a role is at least `wanted`. */
export function atLeast(role: keyof typeof ROLE_RANK | undefined, wanted: keyof typeof ROLE_RANK): boolean {
  return role !== undefined && ROLE_RANK[role] >= ROLE_RANK[wanted];
}

/**
 * Each job's status by id. A training run's own `status` field is not kept up to date by the
 * studio, so pages read the run's job status instead.
 */
export function useJobStatuses(projectId: number, refetch = false) {
  const jobs = useQuery({
    queryKey: [...keys.jobs(projectId), "statuses"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/jobs", { params: { path: { project_id: projectId }, query: { limit: 500 } } })),
    refetchInterval: refetch ? 3000 : false,
  });
  const statuses = new Map<number, string>();
  for (const job of jobs.data?.items ?? []) statuses.set(job.id, job.status);
  return { statuses, isPending: jobs.isPending };
}

/** A run's (or build's) status as its job reports it, falling back to the stored one. */
export function effectiveStatus(item: { status: string; job_id: number | null }, statuses: Map<number, string>): string {
  return (item.job_id !== null ? statuses.get(item.job_id) : undefined) ?? item.status;
}
