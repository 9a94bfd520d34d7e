/** Queries of the impulse pages: the block catalog and the project's impulses. */
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "./client";

/** The studio's processing and learning blocks with their parameter schemas (they do not change while it runs). */
export function useBlocks() {
  return useQuery({ queryKey: ["blocks"], queryFn: () => unwrap(api.GET("/api/blocks")), staleTime: Infinity });
}

/** The project's impulses, each at its current version. */
export function useImpulses(projectId: number) {
  return useQuery({
    queryKey: ["project", projectId, "impulses"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/impulses", { params: { path: { project_id: projectId } } })),
  });
}
