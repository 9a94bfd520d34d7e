/** The studio's firmware builds for a real board, or why there are none and what to use instead. */
import { useState } from "react";
import { Link } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Project, type Schemas } from "../../api/client";
import { effectiveStatus, useJobStatuses } from "../../api/queries";
import { ErrorNote, Loading } from "../ui";
import type { Board, Image } from "./image";

export function StudioImages({ project, board, onImage }: { project: Project; board: Board; onImage: (image: Image) => void }) {
  const { statuses } = useJobStatuses(project.id);
  const deployments = useQuery({
    queryKey: ["project", project.id, "deployments"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/deployments", { params: { path: { project_id: project.id } } })),
  });
  const [error, setError] = useState<unknown>(null);
  if (!board.firmware_buildable) {
    return (
      <p className="muted" data-testid="no-studio-firmware">
        TinyStudio cannot build firmware for the {board.name} here: {board.firmware_unavailable_reason}. Build the{" "}
        <Link to={`/projects/${project.id}/deployment`}>C library or Arduino library</Link> of your model, compile it with the board's own tools, and flash that
        image below.
      </p>
    );
  }
  const builds = (deployments.data ?? []).filter((d) => d.target === "firmware" && d.board_id === board.id && effectiveStatus(d, statuses) === "succeeded");
  if (deployments.isPending) return <Loading what="firmware builds" />;
  if (!builds.length) {
    return (
      <p className="muted">
        No firmware build for this board yet: <Link to={`/projects/${project.id}/deployment`}>build one</Link>, or choose an image file.
      </p>
    );
  }
  const use = async (d: Schemas["DeploymentOut"]) => {
    setError(null);
    try {
      const artifactId = (d.report as { artifacts?: Record<string, number> }).artifacts?.["firmware.bin"];
      if (!artifactId) throw new Error(`build #${d.id} has no firmware.bin`);
      const answer = await fetch(`/api/projects/${project.id}/artifacts/${artifactId}/download`, { credentials: "same-origin" });
      if (!answer.ok) throw new Error(`cannot download build #${d.id}'s image (${answer.status})`);
      onImage({ name: `firmware-${d.id}.bin`, bytes: new Uint8Array(await answer.arrayBuffer()), source: `build #${d.id}` });
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <ul className="list">
        {builds.map((d) => (
          <li key={d.id} className="list-row">
            <span>
              Firmware build #{d.id} · run #{d.training_run_id}
            </span>
            <button className="btn btn-small" onClick={() => void use(d)}>
              Use this build
            </button>
          </li>
        ))}
      </ul>
      <ErrorNote error={error} />
    </>
  );
}
