/** One sample: every axis plotted (zoomable), audio playback, edit, crop, split, trash. */
import { useState } from "react";
import { Link, useNavigate, useOutletContext, useParams, useSearchParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Project, type Sample, type Schemas } from "../api/client";
import { atLeast, refresh } from "../api/queries";
import { CheckedInput } from "../components/CheckedInput";
import { LineChart } from "../components/LineChart";
import { Card, ErrorNote, formatBytes, formatDate, formatDuration, Loading } from "../components/ui";
import { SampleEditForm } from "../components/data/SampleEditForm";
import { UndoToast, useUndoOffer } from "../components/data/UndoToast";

// Enough points for a crisp line on a wide screen; the server keeps each bucket's min and max.
const MAX_POINTS = 3000;

function isAudio(sample: Sample): boolean {
  return sample.original_format === "wav" || (sample.axes === 1 && sample.frequency_hz >= 2000);
}

export function SamplePage() {
  const project = useOutletContext<Project>();
  const { sampleId } = useParams();
  const id = Number(sampleId);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const editor = atLeast(project.role, "editor");
  const path = { project_id: project.id, sample_id: id };
  const sample = useQuery({
    queryKey: ["project", project.id, "sample", id],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/samples/{sample_id}", { params: { path } })),
  });
  const plot = useQuery({
    queryKey: ["project", project.id, "sample", id, "plot", sample.data?.version],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/samples/{sample_id}/plot", { params: { path, query: { max_points: MAX_POINTS } } })),
    enabled: sample.isSuccess,
  });
  const [search] = useSearchParams();
  // A window opened from the feature explorer or the training results arrives as ?window=&length=.
  const windowStart = search.get("window");
  const highlight: [number, number] | null = windowStart !== null ? [Number(windowStart), Number(windowStart) + Number(search.get("length") ?? 0)] : null;
  const [mode, setMode] = useState<"zoom" | "select">("zoom");
  const [range, setRange] = useState<[number, number] | null>(null);
  const [windowMs, setWindowMs] = useState("1000");
  const [strideMs, setStrideMs] = useState("");
  const reload = () => void refresh(queryClient, ["project", project.id]);
  const crop = useMutation({
    mutationFn: ([start, end]: [number, number]) =>
      unwrap(
        api.POST("/api/projects/{project_id}/samples/{sample_id}/crop", {
          params: { path },
          body: { start_ms: Math.round(start), end_ms: Math.round(end), version: sample.data?.version },
        }),
      ),
    onSuccess: () => {
      setRange(null);
      setMode("zoom");
      reload();
    },
  });
  const split = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/projects/{project_id}/samples/{sample_id}/split", {
          params: { path },
          body: { window_ms: Number(windowMs), stride_ms: strideMs ? Number(strideMs) : null },
        }),
      ),
    onSuccess: () => {
      reload();
      navigate(`/projects/${project.id}/data`);
    },
  });
  const trash = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/projects/{project_id}/samples/{sample_id}", { params: { path } })),
    onSuccess: reload,
  });
  // An edit of the label, category or enabled flag can be taken back while nothing changed since.
  const [undo, setUndo] = useUndoOffer<{ message: string; state: Schemas["PreviousState"] }>();
  const offerUndo = (before: Sample, after: Sample) => {
    const changes = [
      before.label !== after.label && `label ${before.label ?? "none"} → ${after.label ?? "none"}`,
      before.category !== after.category && `${before.category} → ${after.category}`,
      before.enabled !== after.enabled && (after.enabled ? "enabled" : "disabled"),
    ].filter(Boolean);
    if (!changes.length) return;
    setUndo({
      message: `Saved: ${changes.join(", ")}.`,
      state: { id: before.id, version: after.version, label: before.label, category: before.category, enabled: before.enabled },
    });
  };
  const revert = useMutation({
    mutationFn: (state: Schemas["PreviousState"]) =>
      unwrap(api.POST("/api/projects/{project_id}/samples/revert", { params: { path: { project_id: project.id } }, body: { samples: [state] } })),
    onSuccess: reload,
    onSettled: () => setUndo(null),
  });
  const restore = useMutation({
    mutationFn: () => unwrap(api.POST("/api/projects/{project_id}/samples/{sample_id}/restore", { params: { path } })),
    onSuccess: reload,
  });

  const splitMarks = (() => {
    const w = Number(windowMs);
    const stride = Number(strideMs) || w;
    if (!sample.data || !(w > 0) || !(stride > 0)) return [];
    const marks: number[] = [];
    for (let start = 0; start + w <= sample.data.duration_ms + 1e-6 && marks.length < 400; start += stride) marks.push(start, start + w);
    return [...new Set(marks)];
  })();
  if (sample.isPending) return <Loading what="the sample" />;
  if (sample.isError) return <ErrorNote error={sample.error} />;
  const s = sample.data;
  const windowProblem =
    Number(windowMs) > 0 && Number(windowMs) <= s.duration_ms
      ? null
      : `Enter a window above 0 and at most ${formatDuration(s.duration_ms)} (${Math.round(s.duration_ms)} ms).`;
  const strideProblem = strideMs === "" || Number(strideMs) > 0 ? null : "Enter a stride above 0 ms, or leave it empty to use the window.";
  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to={`/projects/${project.id}/data`}>Data acquisition</Link> / <span>{s.name}</span>
      </nav>
      <header className="page-header">
        <div>
          <h1>{s.name}</h1>
          <p className="muted">
            {s.label ?? "unlabelled"} · {s.category} · {formatDuration(s.duration_ms)} · {Number(s.frequency_hz.toFixed(2))} Hz · {s.axes}{" "}
            {s.axes === 1 ? "axis" : "axes"}
            {s.deleted_at && <strong className="error-text"> · in the trash</strong>}
          </p>
        </div>
        <div className="row-actions">
          <a className="btn" href={`/api/projects/${project.id}/samples/${s.id}/original`} download>
            Download original
          </a>
          {editor && !s.deleted_at && (
            <button className="btn btn-danger" onClick={() => trash.mutate()}>
              Move to trash
            </button>
          )}
          {editor && s.deleted_at && (
            <button className="btn" onClick={() => restore.mutate()}>
              Restore
            </button>
          )}
        </div>
      </header>
      <ErrorNote error={trash.error || restore.error || revert.error} />
      <Card
        title="Signal"
        actions={
          editor &&
          !s.deleted_at && (
            <div className="segmented" role="group" aria-label="Drag on the plot to">
              <button type="button" aria-pressed={mode === "zoom"} className={mode === "zoom" ? "active" : ""} onClick={() => setMode("zoom")}>
                Zoom
              </button>
              <button type="button" aria-pressed={mode === "select"} className={mode === "select" ? "active" : ""} onClick={() => setMode("select")}>
                Select to crop
              </button>
            </div>
          )
        }
      >
        {plot.isPending && <Loading what="the plot" />}
        <ErrorNote error={plot.error} />
        {plot.data && (
          <>
            <LineChart
              label={`Sample ${s.name}`}
              t={plot.data.t_ms}
              series={plot.data.axes.map((a) => ({ name: a.units && a.units !== "N/A" ? `${a.name} (${a.units})` : a.name, values: a.values }))}
              dragMode={mode}
              selection={range}
              onSelect={setRange}
              highlight={highlight}
              marks={splitMarks.length <= 200 ? splitMarks : undefined}
            />
            {highlight && (
              <p className="muted small">
                Highlighted: the window from {Math.round(highlight[0])} ms to {Math.round(highlight[1])} ms. Dashed lines show where “Split” would cut.
              </p>
            )}
            {plot.data.downsampled && (
              <p className="muted small">
                Showing {plot.data.t_ms.length} of {plot.data.length} points (each bucket's min and max).
              </p>
            )}
          </>
        )}
        {range && (
          <div className="inline-form">
            <span>
              Selected {Math.round(range[0])}–{Math.round(range[1])} ms ({formatDuration(range[1] - range[0])})
            </span>
            <button className="btn btn-primary" onClick={() => crop.mutate(range)} disabled={crop.isPending}>
              Crop to selection
            </button>
            <button className="btn btn-ghost" onClick={() => setRange(null)}>
              Clear
            </button>
          </div>
        )}
        <ErrorNote error={crop.error} />
        {isAudio(s) && (
          <div className="audio">
            <audio controls preload="none" src={`/api/projects/${project.id}/samples/${s.id}/audio?v=${s.version}`}>
              Your browser cannot play WAV audio.
            </audio>
          </div>
        )}
      </Card>
      <div className="grid-2">
        {editor && !s.deleted_at && (
          <Card title="Edit">
            <SampleEditForm key={s.version} sample={s} projectId={project.id} onSaved={offerUndo} />
          </Card>
        )}
        {editor && !s.deleted_at && (
          <Card title="Split into windows">
            <form
              className="inline-form"
              onSubmit={(e) => {
                e.preventDefault();
                split.mutate();
              }}
            >
              <CheckedInput
                label="Window (ms)"
                name="split-window"
                type="number"
                min={1}
                max={Math.round(s.duration_ms)}
                value={windowMs}
                problem={windowProblem}
                onChange={(e) => setWindowMs(e.target.value)}
              />
              <CheckedInput
                label="Stride (ms, optional)"
                name="split-stride"
                type="number"
                min={1}
                value={strideMs}
                problem={strideProblem}
                onChange={(e) => setStrideMs(e.target.value)}
              />
              <button className="btn" type="submit" disabled={split.isPending || windowProblem !== null || strideProblem !== null}>
                Split
              </button>
            </form>
            <p className="muted small">
              Makes {Math.max(0, Math.floor((s.duration_ms - Number(windowMs)) / (Number(strideMs) || Number(windowMs) || 1)) + 1) || 0} new samples; the
              original goes to the trash.
            </p>
            <ErrorNote error={split.error} />
          </Card>
        )}
      </div>
      <Card title="Details">
        <dl className="facts">
          <dt>File</dt>
          <dd>
            {s.original_name} ({s.original_format}, {formatBytes(s.size_bytes)})
          </dd>
          <dt>Sensors</dt>
          <dd>{s.sensors.map((x) => `${x.name}${x.units ? ` (${x.units})` : ""}`).join(", ")}</dd>
          <dt>Device</dt>
          <dd>
            {s.device_name ?? "—"} {s.device_type ? `(${s.device_type})` : ""}
          </dd>
          <dt>Readings</dt>
          <dd>
            {s.length} every {Number(s.interval_ms.toFixed(3))} ms
          </dd>
          <dt>Signature</dt>
          <dd>{s.signature_verified ? "verified with the project's HMAC key" : "not signed"}</dd>
          <dt>Added</dt>
          <dd>{formatDate(s.created_at)}</dd>
          <dt>SHA-256</dt>
          <dd>
            <code className="small">{s.sha256}</code>
          </dd>
        </dl>
      </Card>
      {undo && <UndoToast message={undo.message} busy={revert.isPending} onUndo={() => revert.mutate(undo.state)} onDismiss={() => setUndo(null)} />}
    </>
  );
}
