/** A sample's label, category and enabled flag, edited on its page. */
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Sample } from "../../api/client";
import { refresh } from "../../api/queries";
import { ErrorNote } from "../ui";

export function SampleEditForm({ sample, projectId, onSaved }: { sample: Sample; projectId: number; onSaved: (before: Sample, after: Sample) => void }) {
  const queryClient = useQueryClient();
  const [label, setLabel] = useState(sample.label ?? "");
  const [category, setCategory] = useState(sample.category);
  const save = useMutation({
    mutationFn: (body: { label?: string; clear_label?: boolean; category?: Sample["category"]; enabled?: boolean }) =>
      unwrap(
        api.PATCH("/api/projects/{project_id}/samples/{sample_id}", {
          params: { path: { project_id: projectId, sample_id: sample.id } },
          body: { ...body, version: sample.version },
        }),
      ),
    onSuccess: (updated) => {
      onSaved(sample, updated);
      queryClient.setQueryData(["project", projectId, "sample", sample.id], updated);
      void refresh(queryClient, ["project", projectId, "samples"]);
      void refresh(queryClient, ["project", projectId, "summary"]);
    },
  });
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate(label.trim() ? { label: label.trim(), category } : { clear_label: true, category });
      }}
    >
      <label className="field">
        <span>Label</span>
        <input name="sample-label" value={label} onChange={(e) => setLabel(e.target.value)} />
      </label>
      <label className="field">
        <span>Category</span>
        <select value={category} onChange={(e) => setCategory(e.target.value as Sample["category"])}>
          <option value="training">training</option>
          <option value="testing">testing</option>
          <option value="anomaly">anomaly</option>
        </select>
      </label>
      <button className="btn btn-primary" type="submit" disabled={save.isPending}>
        Save
      </button>
      <button className="btn" type="button" onClick={() => save.mutate({ enabled: !sample.enabled })}>
        {sample.enabled ? "Disable" : "Enable"}
      </button>
      <ErrorNote error={save.error} />
    </form>
  );
}
