/** The Virtual boards page's firmware: choosing a build to start a virtual board with (or
 * building one from the newest trained model), or connecting a board over Web Serial. */
import { Link } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Project, type Schemas } from "../../api/client";
import { useJobEvents } from "../../api/jobs";
import { effectiveStatus, refresh, useJobStatuses } from "../../api/queries";
import { JobProgress } from "../JobProgress";
import { serialUnavailableReason } from "../../lib/serial/device";
import { Card, EmptyState, ErrorNote, Loading } from "../ui";

export const DEFAULT_BOARD = "virtual-cortex-m4";

function BuildFirmware({ project, onBuilt }: { project: Project; onBuilt: (id: number) => void }) {
  const queryClient = useQueryClient();
  const { statuses } = useJobStatuses(project.id);
  const runs = useQuery({
    queryKey: ["project", project.id, "training-runs"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/training-runs", { params: { path: { project_id: project.id } } })),
  });
  const run = (runs.data ?? []).find((r) => effectiveStatus(r, statuses) === "succeeded");
  const build = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/projects/{project_id}/training-runs/{run_id}/deployments", {
          params: { path: { project_id: project.id, run_id: run!.id } },
          body: { target: "firmware", board_id: DEFAULT_BOARD },
        }),
      ),
    onSuccess: (d) => {
      onBuilt(d.id);
      void refresh(queryClient, ["project", project.id, "deployments"]);
    },
  });
  if (runs.isPending) return <Loading what="trained models" />;
  if (!run)
    return (
      <p className="muted">
        No trained model yet: <Link to={`/projects/${project.id}/training`}>train one</Link> first.
      </p>
    );
  return (
    <>
      <button className="btn" disabled={build.isPending} onClick={() => build.mutate()}>
        {build.isPending ? "Starting…" : `Build firmware for the virtual Cortex-M4 from run #${run.id}`}
      </button>
      <ErrorNote error={build.error} />
    </>
  );
}

function BuildProgress({ deployment, projectId }: { deployment: Deployment; projectId: number }) {
  const job = useJobEvents(projectId, deployment.job_id);
  return <JobProgress job={job} projectId={projectId} title={`Firmware build #${deployment.id}`} />;
}

type Deployment = Schemas["DeploymentOut"];

interface Props {
  project: Project;
  editor: boolean;
  ready: Deployment[];
  building: Deployment[];
  chosen: Deployment | null;
  onChoose: (deploymentId: number) => void;
  board: Schemas["VirtualBoardOut"] | null;
  onSerial: boolean;
  busy: string | null;
  actions: { start: () => void; stop: () => void; connectSerial: () => void; disconnectSerial: () => void };
  error: unknown;
}

export function FirmwareCard({ project, editor, ready, building, chosen, onChoose, board, onSerial, busy, actions, error }: Props) {
  const serialProblem = serialUnavailableReason(window);
  return (
    <Card title="Firmware">
      {ready.length === 0 && building.length === 0 && (
        <EmptyState title="No firmware for a virtual board yet">
          <p>A virtual board runs a firmware build of a trained model in QEMU, like a real board on your desk.</p>
          {editor && <BuildFirmware project={project} onBuilt={onChoose} />}
        </EmptyState>
      )}
      {building.map((d) => (
        <BuildProgress key={d.id} deployment={d} projectId={project.id} />
      ))}
      {ready.length > 0 && (
        <div className="inline-form">
          <label className="field">
            <span>Firmware build</span>
            <select name="deployment" value={chosen?.id ?? ""} onChange={(e) => onChoose(Number(e.target.value))} disabled={board !== null}>
              {ready.map((d) => (
                <option key={d.id} value={d.id}>
                  Build #{d.id} · {d.board_id} · run #{d.training_run_id}
                </option>
              ))}
            </select>
          </label>
          {editor && !board && !onSerial && (
            <button className="btn btn-primary" disabled={busy !== null || !chosen} onClick={actions.start}>
              {busy === "Starting" ? "Starting…" : "Start virtual board"}
            </button>
          )}
          {editor && board && (
            <button className="btn" disabled={busy === "Stopping"} onClick={actions.stop}>
              Stop virtual board
            </button>
          )}
        </div>
      )}
      {!board && (
        <div className="inline-form">
          {!onSerial && (
            <button className="btn" disabled={busy !== null || serialProblem !== null} onClick={actions.connectSerial} title={serialProblem ?? undefined}>
              {busy === "Connecting" ? "Connecting…" : "Connect a board over Web Serial"}
            </button>
          )}
          {onSerial && (
            <button className="btn" onClick={actions.disconnectSerial}>
              Disconnect the board
            </button>
          )}
          <span className="muted small">
            {serialProblem ?? "A real board running TinyStudio firmware (or any board speaking its serial protocol) works here too."}
          </span>
        </div>
      )}
      <ErrorNote error={error} />
    </Card>
  );
}
