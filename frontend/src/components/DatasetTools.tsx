/** Dataset operations: export and import as a zip (jobs), versions (snapshots), duplicates, trash. */
import { useRef, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, currentCsrfToken, toApiError, unwrap } from "../api/client";
import { useJobEvents } from "../api/jobs";
import { JobProgress } from "./JobProgress";
import { Card, counted, ErrorNote, formatBytes, formatDate, Loading } from "./ui";
import { refresh } from "../api/queries";
import { useConfirm } from "./ConfirmDialog";

function JobWithDownloads({ projectId, jobId, title }: { projectId: number; jobId: number; title: string }) {
  const job = useJobEvents(projectId, jobId);
  return (
    <>
      <JobProgress job={job} projectId={projectId} title={title} />
      {job?.status === "succeeded" &&
        (job.artifacts ?? []).map((a) => (
          <a key={a.id} className="btn btn-small btn-primary" href={`/api/projects/${projectId}/artifacts/${a.id}/download`} download={a.name}>
            Download {a.name} ({formatBytes(a.size_bytes)})
          </a>
        ))}
    </>
  );
}

export function DatasetTools({ projectId, editor, trashed, onPurged }: { projectId: number; editor: boolean; trashed: number; onPurged: () => void }) {
  const queryClient = useQueryClient();
  const confirm = useConfirm();
  const path = { project_id: projectId };
  const [exportJob, setExportJob] = useState<number | null>(null);
  const [importJob, setImportJob] = useState<number | null>(null);
  const [versionName, setVersionName] = useState("");
  const fileInput = useRef<HTMLInputElement>(null);
  const versions = useQuery({
    queryKey: ["project", projectId, "dataset-versions"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/dataset-versions", { params: { path } })),
  });
  const duplicates = useQuery({
    queryKey: ["project", projectId, "samples", "duplicates"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/samples/duplicates", { params: { path } })),
  });
  const exportDataset = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/dataset/export", { params: { path } })),
    onSuccess: (job) => setExportJob(job.id),
  });
  const importDataset = useMutation({
    mutationFn: async (file: File) => {
      // Multipart by hand: the generated client types the file field as a string.
      const form = new FormData();
      form.append("file", file, file.name);
      const headers: Record<string, string> = {};
      const token = currentCsrfToken();
      if (token) headers["x-csrf-token"] = token;
      const answer = await fetch(`/api/projects/${projectId}/dataset/import`, { method: "POST", body: form, headers, credentials: "same-origin" });
      const body = await answer.json().catch(() => null);
      if (!answer.ok) throw toApiError(answer.status, body);
      return body as { id: number };
    },
    onSuccess: (job) => setImportJob(job.id),
  });
  const createVersion = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/dataset-versions", { params: { path }, body: { name: versionName } })),
    onSuccess: () => {
      setVersionName("");
      void refresh(queryClient, ["project", projectId, "dataset-versions"]);
    },
  });
  const purge = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/samples/purge", { params: { path }, body: {} })),
    onSuccess: () => {
      // Samples deleted for good cannot come back: an Undo that would restore them goes.
      onPurged();
      void refresh(queryClient, ["project", projectId]);
    },
  });
  const emptyTrash = async () => {
    const yes = await confirm({
      title: `Delete ${counted(trashed, "sample")} in the trash for good?`,
      body: <p>Their values and uploaded files are deleted. This cannot be undone.</p>,
      confirmLabel: "Delete for good",
      danger: true,
    });
    if (yes) purge.mutate();
  };
  const duplicateCount = (duplicates.data ?? []).reduce((n, g) => n + g.samples.length - 1, 0);
  return (
    <Card title="Dataset tools">
      <div className="tools">
        <section>
          <h3>Export and import</h3>
          <p className="muted small">A zip of every sample with its labels, to back up or move the dataset.</p>
          {editor && (
            <div className="row-actions">
              <button className="btn btn-small" onClick={() => exportDataset.mutate()} disabled={exportDataset.isPending}>
                Export dataset
              </button>
              <button className="btn btn-small" onClick={() => fileInput.current?.click()} disabled={importDataset.isPending}>
                Import a dataset zip…
              </button>
              <input
                ref={fileInput}
                type="file"
                accept=".zip"
                hidden
                data-testid="import-input"
                onChange={(e) => {
                  const file = e.target.files?.[0];
                  if (file) importDataset.mutate(file);
                  e.target.value = "";
                }}
              />
            </div>
          )}
          <ErrorNote error={exportDataset.error || importDataset.error} />
          {exportJob !== null && <JobWithDownloads projectId={projectId} jobId={exportJob} title="Export" />}
          {importJob !== null && <JobWithDownloads projectId={projectId} jobId={importJob} title="Import" />}
        </section>
        <section>
          <h3>Versions</h3>
          <p className="muted small">A version freezes the current samples, so a training run can be repeated on exactly the same data.</p>
          {editor && (
            <form
              className="inline-form"
              onSubmit={(e) => {
                e.preventDefault();
                createVersion.mutate();
              }}
            >
              <input aria-label="Version name" placeholder="version name" value={versionName} required onChange={(e) => setVersionName(e.target.value)} />
              <button className="btn btn-small" type="submit">
                Save version
              </button>
            </form>
          )}
          <ErrorNote error={createVersion.error || versions.error} />
          {versions.isPending && <Loading what="the versions" />}
          {versions.data?.length === 0 && <p className="muted small">No versions saved yet.</p>}
          <ul className="list compact">
            {versions.data?.slice(0, 5).map((v) => (
              <li key={v.id} className="list-row">
                <span>
                  {v.name} <span className="muted small">· {v.sample_count} samples</span>
                </span>
                <span className="muted small">{formatDate(v.created_at)}</span>
              </li>
            ))}
          </ul>
        </section>
        <section>
          <h3>Clean up</h3>
          {duplicates.isPending && <Loading what="duplicate uploads" />}
          <ErrorNote error={duplicates.error} />
          {duplicates.data && (
            <p className="small">{duplicateCount ? `${counted(duplicateCount, "sample")} duplicate another upload (same file).` : "No duplicate uploads."}</p>
          )}
          <p className="small">{trashed ? `${counted(trashed, "sample")} in the trash (kept for 30 days).` : "The trash is empty."}</p>
          {editor && (
            <button className="btn btn-small btn-danger" disabled={!trashed || purge.isPending} onClick={() => void emptyTrash()}>
              Empty the trash
            </button>
          )}
          {purge.data && (
            <p className="small ok-text" role="status">
              Deleted {counted(purge.data.changed, "sample")} for good.
            </p>
          )}
          <ErrorNote error={purge.error} />
        </section>
      </div>
    </Card>
  );
}
