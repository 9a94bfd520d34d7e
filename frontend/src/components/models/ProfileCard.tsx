/** Profiling a model on every board: the button, the job followed live, then the table by board. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { profileModel, storeModel, type UploadedModel } from "../../api/models";
import { useJobEvents } from "../../api/jobs";
import { jobActive, notBuildable } from "../../lib/models";
import { JobProgress } from "../JobProgress";
import { Card, EmptyState, ErrorNote } from "../ui";
import { BoardProfileTable } from "./BoardProfileTable";

export function ProfileCard({ projectId, model, editor }: { projectId: number; model: UploadedModel; editor: boolean }) {
  const queryClient = useQueryClient();
  const start = useMutation({
    mutationFn: () => profileModel(projectId, model.id),
    onSuccess: (answer) => storeModel(queryClient, projectId, answer),
  });
  // A profile that did not succeed is followed too: its job says why.
  const followed = model.profile_status != null && model.profile_status !== "succeeded" ? model.profile_job_id : null;
  const job = useJobEvents(projectId, followed);
  const running = jobActive(model.profile_status);
  const blocked = notBuildable(model);
  const button = editor && (
    <button type="button" className="btn btn-primary btn-small" disabled={running || start.isPending || blocked !== null} onClick={() => start.mutate()}>
      {running || start.isPending ? "Profiling…" : model.profile ? "Profile again" : "Profile on every board"}
    </button>
  );
  return (
    <Card title="On every board" actions={button}>
      <p className="muted small">
        The model is built once per core and run on that core's virtual board; each board of the catalog then gets the figures with its own clock, RAM and
        flash.
      </p>
      {blocked && <p className="muted small">{blocked}</p>}
      <ErrorNote error={start.error} />
      {followed !== null && <JobProgress job={job} projectId={projectId} title="Profile" />}
      {model.profile ? (
        <BoardProfileTable boards={model.profile.boards} />
      ) : (
        !running &&
        !blocked && (
          <EmptyState title="Not profiled yet">
            <p>
              {editor
                ? "Profile it to see its RAM, flash and latency on each board, and where it fits."
                : "When an editor profiles it, each board's figures show here."}
            </p>
          </EmptyState>
        )
      )}
    </Card>
  );
}
