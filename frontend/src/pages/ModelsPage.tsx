/** Models: bring a model trained elsewhere, see what it is, profile it on every board, take it to a device as C. */
import { useOutletContext, useSearchParams } from "react-router-dom";
import type { Project } from "../api/client";
import { useModels } from "../api/models";
import { atLeast } from "../api/queries";
import { ModelList } from "../components/models/ModelList";
import { ModelView } from "../components/models/ModelView";
import { UploadModelForm } from "../components/models/UploadModelForm";
import { Card, EmptyState, ErrorNote, Loading } from "../components/ui";
import "../components/models/models.css";

export function ModelsPage() {
  const project = useOutletContext<Project>();
  const editor = atLeast(project.role, "editor");
  const models = useModels(project.id);
  const [params, setParams] = useSearchParams();
  const wanted = Number(params.get("model"));
  // A model just uploaded may not be in the list yet: the newest is shown until it is.
  const shown = models.data?.find((m) => m.id === wanted) ?? models.data?.[0] ?? null;
  const show = (id: number | null) => setParams(id === null ? {} : { model: String(id) }, { replace: true });

  if (models.isPending) return <Loading what="the models" />;
  return (
    <>
      <h1>Models</h1>
      <p className="muted">
        Bring a model trained elsewhere: TinyStudio quantizes a float model to int8, reads what it is, measures it on every board of the catalog and builds it
        as a C library for your firmware.
      </p>
      <ErrorNote error={models.error} />
      {editor ? (
        <UploadModelForm projectId={project.id} onUploaded={(m) => show(m.id)} />
      ) : (
        <p className="muted small">You can read the project's models; editors upload them.</p>
      )}
      <Card title={`Models (${models.data?.length ?? 0})`}>
        {models.data?.length ? (
          <ModelList models={models.data} shownId={shown?.id ?? null} onShow={show} />
        ) : (
          <EmptyState title="No models yet">
            <p>{editor ? "Upload a .tflite, .keras or .h5 model above." : "When an editor uploads a model, it shows here."}</p>
          </EmptyState>
        )}
      </Card>
      {shown && <ModelView key={shown.id} projectId={project.id} model={shown} editor={editor} onDeleted={() => show(null)} />}
    </>
  );
}
