/** Models brought from elsewhere: upload, follow the import, profile on every board, package as C. */
import { useQuery, type QueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "./client";
import { modelBusy } from "../lib/models";

export type UploadedModel = Schemas["UploadedModelOut"];
export type ModelInfo = Schemas["ModelInfo"];
export type TensorInfo = Schemas["TensorInfo"];
export type QuantizationReport = Schemas["QuantizationReport"];
export type BoardProfile = Schemas["BoardProfile"];

export const modelKeys = {
  list: (projectId: number) => ["project", projectId, "models"] as const,
  supportedOps: ["compiler", "supported-ops"] as const,
};

// Imports, profiles and builds run on workers; the page follows the models at this pace meanwhile.
const POLL_MS = 2000;

/** The project's models, newest first; each carries its info, quantization report and profile. */
export function useModels(projectId: number) {
  return useQuery({
    queryKey: modelKeys.list(projectId),
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/models", { params: { path: { project_id: projectId } } })),
    refetchInterval: (query) => (query.state.data?.some(modelBusy) ? POLL_MS : false),
  });
}

/** Puts a model's answer (a job just started) into the list, which then follows that job. */
export function storeModel(queryClient: QueryClient, projectId: number, model: UploadedModel): void {
  queryClient.setQueryData<UploadedModel[]>(modelKeys.list(projectId), (list) => list?.map((m) => (m.id === model.id ? model : m)));
}

/** The TFLite operators the compiler generates C for (the same for every project and model). */
export function useSupportedOps() {
  return useQuery({
    queryKey: modelKeys.supportedOps,
    queryFn: () => unwrap(api.GET("/api/compiler/supported-ops")),
    staleTime: Infinity,
  });
}

export interface ModelUpload {
  file: File;
  representative: File | null;
  /** Or calibrate a float model with this impulse's features of the training samples. */
  impulseId: number | null;
  name: string;
}

export function uploadModel(projectId: number, upload: ModelUpload) {
  const form = new FormData();
  form.append("file", upload.file, upload.file.name);
  if (upload.representative) form.append("representative", upload.representative, upload.representative.name);
  if (upload.impulseId !== null) form.append("impulse_id", String(upload.impulseId));
  if (upload.name.trim()) form.append("name", upload.name.trim());
  return unwrap(
    api.POST("/api/projects/{project_id}/models", {
      params: { path: { project_id: projectId } },
      // The generated schema types file fields as strings; the client sends a FormData body as it is.
      body: form as unknown as Schemas["Body_upload_model"],
    }),
  );
}

export function profileModel(projectId: number, modelId: number) {
  return unwrap(api.POST("/api/projects/{project_id}/models/{model_id}/profile", { params: { path: { project_id: projectId, model_id: modelId } } }));
}

export function buildModelLibrary(projectId: number, modelId: number) {
  return unwrap(api.POST("/api/projects/{project_id}/models/{model_id}/c-library", { params: { path: { project_id: projectId, model_id: modelId } } }));
}

/** Starts a training run of the impulse with the model: scored on the project's windows, then deployable. */
export function runModelInImpulse(projectId: number, modelId: number, body: Schemas["ModelRunIn"]) {
  return unwrap(api.POST("/api/projects/{project_id}/models/{model_id}/runs", { params: { path: { project_id: projectId, model_id: modelId } }, body }));
}

export function deleteModel(projectId: number, modelId: number) {
  return unwrap(api.DELETE("/api/projects/{project_id}/models/{model_id}", { params: { path: { project_id: projectId, model_id: modelId } } }));
}

export function artifactUrl(projectId: number, artifactId: number): string {
  return `/api/projects/${projectId}/artifacts/${artifactId}/download`;
}
