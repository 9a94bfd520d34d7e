/** One uploaded model: its import followed live, then what it is, its quantization, its profile and its files. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { deleteModel, modelKeys, type UploadedModel } from "../../api/models";
import { useJobEvents } from "../../api/jobs";
import { refresh } from "../../api/queries";
import { sourceFormatName } from "../../lib/models";
import { JobProgress } from "../JobProgress";
import { Card, ErrorNote, formatBytes, formatDate, StatusBadge } from "../ui";
import { useConfirm } from "../ConfirmDialog";
import { DownloadsCard } from "./DownloadsCard";
import { ImpulseRunCard } from "./ImpulseRunCard";
import { ModelDetails } from "./ModelDetails";
import { ProfileCard } from "./ProfileCard";
import { QuantizationReport } from "./QuantizationReport";

export function ModelView({ projectId, model, editor, onDeleted }: { projectId: number; model: UploadedModel; editor: boolean; onDeleted: () => void }) {
  const queryClient = useQueryClient();
  const importing = model.status === "importing";
  const importJob = useJobEvents(projectId, importing ? model.import_job_id : null);
  const remove = useMutation({
    mutationFn: () => deleteModel(projectId, model.id),
    onSuccess: () => {
      onDeleted();
      void refresh(queryClient, modelKeys.list(projectId));
    },
  });
  const confirm = useConfirm();
  const askDelete = async () => {
    const yes = await confirm({
      title: `Delete the model “${model.name}”?`,
      body: <p>Its uploaded files, profile and C library go with it. This cannot be undone.</p>,
      confirmLabel: "Delete the model",
      danger: true,
    });
    if (yes) remove.mutate();
  };
  const deleteButton = editor && (
    <button type="button" className="btn btn-small btn-danger" disabled={remove.isPending} onClick={() => void askDelete()}>
      {remove.isPending ? "Deleting…" : "Delete"}
    </button>
  );
  return (
    <>
      <Card title={model.name} actions={deleteButton}>
        <p className="muted small" data-testid="model-source">
          {model.filename} · {sourceFormatName(model.source_format)} · {formatBytes(model.original_bytes)} · uploaded {formatDate(model.created_at)}{" "}
          <StatusBadge status={model.status} />
        </p>
        {importing && <JobProgress job={importJob} projectId={projectId} title="Import" />}
        {model.status === "failed" && (
          <p className="error-note" role="alert" data-testid="import-error">
            The import failed: {model.error ?? "the worker gave no reason"}
          </p>
        )}
        {model.info && <ModelDetails info={model.info} />}
        <ErrorNote error={remove.error} />
      </Card>
      {model.quantization && (
        <Card title="Quantization: int8 against float">
          <QuantizationReport report={model.quantization} />
        </Card>
      )}
      {model.status === "ready" && (
        <>
          <ProfileCard projectId={projectId} model={model} editor={editor} />
          <DownloadsCard projectId={projectId} model={model} editor={editor} />
          <ImpulseRunCard projectId={projectId} model={model} editor={editor} />
        </>
      )}
    </>
  );
}
