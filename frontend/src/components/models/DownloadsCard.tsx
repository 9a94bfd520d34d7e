/** A model's files for a device: the int8 .tflite, and its C library once built. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { artifactUrl, buildModelLibrary, storeModel, type UploadedModel } from "../../api/models";
import { useJobEvents } from "../../api/jobs";
import { jobActive, notBuildable } from "../../lib/models";
import { JobProgress } from "../JobProgress";
import { Card, ErrorNote } from "../ui";

export function DownloadsCard({ projectId, model, editor }: { projectId: number; model: UploadedModel; editor: boolean }) {
  const queryClient = useQueryClient();
  const build = useMutation({
    mutationFn: () => buildModelLibrary(projectId, model.id),
    onSuccess: (answer) => storeModel(queryClient, projectId, answer),
  });
  // A build that did not succeed is followed too: its job says why.
  const followed = model.library_status != null && model.library_status !== "succeeded" ? model.library_job_id : null;
  const job = useJobEvents(projectId, followed);
  const building = jobActive(model.library_status) || build.isPending;
  const blocked = notBuildable(model);
  const library = model.library_artifact_id;
  return (
    <Card title="Downloads">
      <ul className="list compact downloads">
        {model.int8_artifact_id != null && (
          <li className="list-row">
            <a className="btn btn-small" href={artifactUrl(projectId, model.int8_artifact_id)} download={`${model.name}-int8.tflite`}>
              Download int8 .tflite
            </a>
            <span className="muted small">{model.quantization ? "quantized from the float upload" : "the uploaded model, already int8"}</span>
          </li>
        )}
        <li className="list-row">
          <span className="row-actions">
            {library != null && !building && (
              <a className="btn btn-primary btn-small" href={artifactUrl(projectId, library)} download={`${model.name}-c-library.zip`}>
                Download C library
              </a>
            )}
            {editor && (
              <button
                type="button"
                className="btn btn-small"
                disabled={building || blocked !== null}
                title={blocked ?? undefined}
                onClick={() => build.mutate()}
              >
                {building ? "Building…" : library != null ? "Build again" : "Build C library"}
              </button>
            )}
          </span>
          <span className="muted small">Plain C99, no heap: the model's C and weights, the int8 kernels it calls and a README, zipped.</span>
        </li>
      </ul>
      {library == null && !editor && <p className="muted small">When an editor builds the C library, its download shows here.</p>}
      <ErrorNote error={build.error} />
      {followed !== null && <JobProgress job={job} projectId={projectId} title="C library" />}
    </Card>
  );
}
