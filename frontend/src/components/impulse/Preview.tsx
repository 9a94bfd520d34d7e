/** The DSP preview: one processing block run on one window of a sample, its signal and features drawn. */
import { useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../api/client";
import { LineChart } from "../LineChart";
import { FeatureBars } from "../Scatter";
import { Card, ErrorNote } from "../ui";
import type { Draft, DraftBlock } from "../../lib/impulseDraft";

type Block = Schemas["BlockInfo"];

export function Preview({ projectId, draft, catalog }: { projectId: number; draft: Draft; catalog: Block[] }) {
  const samples = useQuery({
    queryKey: ["project", projectId, "samples", "preview-list"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/samples", { params: { path: { project_id: projectId }, query: { limit: 200 } } })),
  });
  const [sampleId, setSampleId] = useState<number | null>(null);
  const [windowIndex, setWindowIndex] = useState(0);
  const [blockId, setBlockId] = useState<number | null>(null);
  const chosen = sampleId ?? samples.data?.items[0]?.id ?? null;
  // The block picked to preview, or the first (also when the picked one was removed).
  const block: DraftBlock = draft.dsp.find((b) => b.id === blockId) ?? draft.dsp[0];
  const preview = useMutation({
    mutationFn: ({ dsp }: { dsp: DraftBlock; label: string }) =>
      unwrap(
        api.POST("/api/projects/{project_id}/impulses/preview", {
          params: { path: { project_id: projectId } },
          body: { input: draft.input, dsp: { block: dsp.block, params: dsp.params }, sample_id: chosen!, window_index: windowIndex },
        }),
      ),
  });
  const data = preview.data;
  const blockLabel = (b: DraftBlock) => `${draft.dsp.indexOf(b) + 1} · ${catalog.find((c) => c.name === b.block)?.title ?? b.block}`;
  return (
    <Card title="DSP preview">
      <div className="inline-form">
        {draft.dsp.length > 1 && (
          <label className="field">
            <span>Processing block</span>
            <select name="preview-block" value={block.id} onChange={(e) => setBlockId(Number(e.target.value))}>
              {draft.dsp.map((b) => (
                <option key={b.id} value={b.id}>
                  {blockLabel(b)}
                </option>
              ))}
            </select>
          </label>
        )}
        <label className="field">
          <span>Sample</span>
          <select name="preview-sample" value={chosen ?? ""} onChange={(e) => setSampleId(Number(e.target.value))}>
            {samples.data?.items.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} ({s.label ?? "unlabelled"})
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Window</span>
          <input
            type="number"
            min={0}
            max={data ? data.windows - 1 : undefined}
            value={windowIndex}
            onChange={(e) => setWindowIndex(Math.max(0, Number(e.target.value)))}
          />
        </label>
        <button className="btn" disabled={chosen === null || preview.isPending} onClick={() => preview.mutate({ dsp: block, label: blockLabel(block) })}>
          {preview.isPending ? "Computing…" : "Show features"}
        </button>
      </div>
      <ErrorNote error={preview.error} />
      {data && (
        <>
          <p className="muted small">
            Window {data.window_index + 1} of {data.windows}, from {Math.round(data.window_start_ms)} ms · features {data.feature_shape.join(" × ")}
            {draft.dsp.length > 1 && preview.variables && ` of processing block ${preview.variables.label}`}
          </p>
          <LineChart
            label="Preview window"
            height={180}
            t={data.window.map((_, i) => data.window_start_ms + (i * 1000) / draft.input.frequency_hz)}
            series={data.axes.map((name, a) => ({ name, values: data.window.map((row) => row[a]) }))}
          />
          <FeatureBars values={data.features} names={data.feature_names} />
        </>
      )}
    </Card>
  );
}
