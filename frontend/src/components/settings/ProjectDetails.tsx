/** The project card of the settings: name and description, the whole-project export, and deleting it. */
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Project } from "../../api/client";
import { atLeast, keys, refresh, useOverview } from "../../api/queries";
import { Card, counted, ErrorNote, formatBytes } from "../ui";
import { useConfirm } from "../ConfirmDialog";
import { JobProgress } from "../JobProgress";
import { useJobEvents } from "../../api/jobs";

function ProjectExport({ project }: { project: Project }) {
  const [jobId, setJobId] = useState<number | null>(null);
  const start = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/export", { params: { path: { project_id: project.id } } })),
    onSuccess: (job) => setJobId(job.id),
  });
  const job = useJobEvents(project.id, jobId);
  if (!atLeast(project.role, "editor")) return null;
  return (
    <div className="project-export">
      <button className="btn btn-small" onClick={() => start.mutate()} disabled={start.isPending}>
        Export the whole project
      </button>
      <ErrorNote error={start.error} />
      {jobId !== null && <JobProgress job={job} projectId={project.id} title="Project export" />}
      {job?.status === "succeeded" &&
        (job.artifacts ?? []).map((a) => (
          <a key={a.id} className="btn btn-small btn-primary" href={`/api/projects/${project.id}/artifacts/${a.id}/download`} download={a.name}>
            Download {a.name} ({formatBytes(a.size_bytes)})
          </a>
        ))}
    </div>
  );
}

export function ProjectDetails({ project }: { project: Project }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState(project.name);
  const [description, setDescription] = useState(project.description);
  const [typedName, setTypedName] = useState("");
  const confirm = useConfirm();
  const overview = useOverview(project.id);
  const save = useMutation({
    mutationFn: () => unwrap(api.PATCH("/api/projects/{project_id}", { params: { path: { project_id: project.id } }, body: { name, description } })),
    onSuccess: () => {
      void refresh(queryClient, keys.project(project.id));
      void refresh(queryClient, keys.projects);
    },
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/projects/{project_id}", { params: { path: { project_id: project.id }, query: { confirm_name: typedName } } })),
    onSuccess: () => {
      // Gone from the list at once: the projects page must not offer it while it refetches.
      queryClient.setQueryData(keys.projects, (old: Project[] | undefined) => old?.filter((p) => p.id !== project.id));
      void refresh(queryClient, keys.projects);
      navigate("/");
    },
  });
  const canEdit = atLeast(project.role, "admin");
  const askDelete = async () => {
    // Counted now, not when the page opened: samples may have come and gone since.
    const o = (await overview.refetch()).data;
    const holds = o
      ? ` with ${counted(o.samples + o.trashed_samples, "sample")}, ${counted(o.impulses, "impulse")}, ${counted(o.training_runs, "training run")} and ${counted(o.deployments, "build")}`
      : "";
    const yes = await confirm({
      title: `Delete project “${project.name}”${holds}?`,
      body: (
        <p>
          Everything it holds is deleted for good, for every member: samples (also those in the trash), impulses, models, builds and jobs. This cannot be
          undone.
        </p>
      ),
      confirmLabel: "Delete the project",
      danger: true,
    });
    if (yes) remove.mutate();
  };
  return (
    <Card title="Project">
      <form
        className="stack"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <label className="field">
          <span>Name</span>
          <input value={name} disabled={!canEdit} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="field">
          <span>Description</span>
          <textarea value={description} rows={2} disabled={!canEdit} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <ErrorNote error={save.error} />
        {canEdit && (
          <div>
            <button className="btn btn-primary" type="submit">
              {save.isSuccess ? "Saved" : "Save"}
            </button>
          </div>
        )}
      </form>
      <ProjectExport project={project} />
      {project.role === "owner" && (
        <details className="danger-zone">
          <summary>Delete this project</summary>
          <p>This deletes all samples, models and jobs. Type the project's name to confirm.</p>
          <div className="inline-form">
            <label className="field">
              <span>Project name</span>
              <input value={typedName} onChange={(e) => setTypedName(e.target.value)} />
            </label>
            <button className="btn btn-danger" disabled={typedName !== project.name || overview.isPending || remove.isPending} onClick={() => void askDelete()}>
              Delete project
            </button>
          </div>
          <ErrorNote error={remove.error} />
        </details>
      )}
    </Card>
  );
}
