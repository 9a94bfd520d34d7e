/** The form that uploads a model trained elsewhere, with the inputs a float model is quantized with. */
import { useRef, useState, type FormEvent, type ReactNode } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { modelKeys, uploadModel, type ModelUpload, type UploadedModel } from "../../api/models";
import { refresh } from "../../api/queries";
import { uploadFieldError, type UploadField } from "../../lib/models";
import { Card, ErrorNote } from "../ui";
import { useImpulses } from "../../api/impulses";

function Field({ name, label, help, error, children }: { name: UploadField; label: string; help: ReactNode; error?: string; children: ReactNode }) {
  return (
    <label className="field" data-field={name}>
      <span>{label}</span>
      {children}
      <span className="field-help">{help}</span>
      {error && (
        <span className="field-error" id={`model-${name}-error`} role="alert">
          {error}
        </span>
      )}
    </label>
  );
}

/** Props an input gets for its field: the invalid mark and the error it is described by. */
function invalid(errors: Partial<Record<UploadField, string>>, name: UploadField) {
  return errors[name] ? { "aria-invalid": true, "aria-describedby": `model-${name}-error` } : {};
}

export function UploadModelForm({ projectId, onUploaded }: { projectId: number; onUploaded: (model: UploadedModel) => void }) {
  const queryClient = useQueryClient();
  const form = useRef<HTMLFormElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [representative, setRepresentative] = useState<File | null>(null);
  const [impulseId, setImpulseId] = useState<number | null>(null);
  const impulses = useImpulses(projectId);
  const [name, setName] = useState("");
  const [fileMissing, setFileMissing] = useState(false);
  const upload = useMutation({
    mutationFn: (chosen: ModelUpload) => uploadModel(projectId, chosen),
    onSuccess: (model) => {
      // File inputs cannot be cleared through React state: the form resets them.
      form.current?.reset();
      setFile(null);
      setRepresentative(null);
      setImpulseId(null);
      setName("");
      void refresh(queryClient, modelKeys.list(projectId));
      onUploaded(model);
    },
  });
  const server = uploadFieldError(upload.error);
  const errors: Partial<Record<UploadField, string>> = {};
  if (fileMissing) errors.file = "Choose a model file: an int8 or float .tflite, a .keras or .h5, or a zipped SavedModel.";
  if (server) errors[server.field] = server.message;
  const edited = () => {
    setFileMissing(false);
    if (upload.error) upload.reset();
  };

  function submit(e: FormEvent) {
    e.preventDefault();
    if (file) upload.mutate({ file, representative, impulseId, name });
    else setFileMissing(true);
  }

  return (
    <Card title="Upload a model">
      <form ref={form} onSubmit={submit} noValidate aria-label="Upload a model">
        <div className="model-upload-grid">
          <Field name="file" label="Model file" help="An int8 or float .tflite, a Keras .keras or .h5 file, or a SavedModel folder zipped." error={errors.file}>
            <input
              name="file"
              type="file"
              accept=".tflite,.keras,.h5,.zip"
              onChange={(e) => {
                setFile(e.target.files?.[0] ?? null);
                edited();
              }}
              {...invalid(errors, "file")}
            />
          </Field>
          <Field
            name="representative"
            label="Representative inputs (optional)"
            help="Float models need them to be quantized to int8: a .npy shaped [n, …input shape]."
            error={errors.representative}
          >
            <input
              name="representative"
              type="file"
              accept=".npy"
              onChange={(e) => {
                setRepresentative(e.target.files?.[0] ?? null);
                edited();
              }}
              {...invalid(errors, "representative")}
            />
          </Field>
          {!!impulses.data?.length && (
            <Field
              name="impulse_id"
              label="Or calibrate with an impulse (optional)"
              help="Float models are quantized with the project's training samples through this impulse's DSP."
              error={errors.impulse_id}
            >
              <select
                name="impulse_id"
                value={impulseId ?? ""}
                onChange={(e) => {
                  setImpulseId(e.target.value ? Number(e.target.value) : null);
                  edited();
                }}
                {...invalid(errors, "impulse_id")}
              >
                <option value="">none</option>
                {impulses.data.map((i) => (
                  <option key={i.id} value={i.id}>
                    {i.name} (v{i.version})
                  </option>
                ))}
              </select>
            </Field>
          )}
          <Field name="name" label="Name (optional)" help="The file's name when left empty." error={errors.name}>
            <input
              name="name"
              type="text"
              maxLength={200}
              value={name}
              onChange={(e) => {
                setName(e.target.value);
                edited();
              }}
              {...invalid(errors, "name")}
            />
          </Field>
        </div>
        {!server && <ErrorNote error={upload.error} />}
        <div className="inline-form">
          <button className="btn btn-primary" type="submit" disabled={upload.isPending}>
            {upload.isPending ? "Uploading…" : "Upload model"}
          </button>
          <span className="muted small">The import quantizes a float model, then reads its inputs, outputs, operators and memory.</span>
        </div>
      </form>
    </Card>
  );
}
