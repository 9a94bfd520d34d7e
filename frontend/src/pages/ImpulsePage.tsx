/** Impulse design: input window, DSP and learning blocks from their schemas, DSP preview, features. */
import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useOutletContext, useSearchParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, unwrap, type Project, type Schemas } from "../api/client";
import { useJobEvents } from "../api/jobs";
import { atLeast } from "../api/queries";
import { JobProgress } from "../components/JobProgress";
import { LineChart } from "../components/LineChart";
import { FeatureBars, Scatter, type ScatterPoint } from "../components/Scatter";
import { SchemaForm, splitErrorField } from "../components/SchemaForm";
import { Card, EmptyState, ErrorNote, Loading } from "../components/ui";
import { defaultsFromSchema, type JsonSchema } from "../lib/schemaForm";

type Impulse = Schemas["ImpulseOut"];
type Block = Schemas["BlockInfo"];
interface InputBlock { window_ms: number; stride_ms: number; frequency_hz: number; zero_pad: boolean }
interface Draft { name: string; input: InputBlock; dsp: { block: string; params: Record<string, unknown> }; learn: { block: string; params: Record<string, unknown> } }

export function useBlocks() {
  return useQuery({ queryKey: ["blocks"], queryFn: () => unwrap(api.GET("/api/blocks")), staleTime: Infinity });
}

/** The impulse chosen with ?impulse=<id> (default: the first), shared by the impulse and training pages. */
export function useChosenImpulse(impulses: Impulse[] | undefined): { impulse: Impulse | null; creating: boolean; choose: (id: number | "new") => void } {
  const [params, setParams] = useSearchParams();
  const wanted = params.get("impulse");
  const choose = (id: number | "new") => setParams(id === "new" ? { impulse: "new" } : { impulse: String(id) }, { replace: true });
  if (wanted === "new") return { impulse: null, creating: true, choose };
  const impulse = impulses?.find((i) => String(i.id) === wanted) ?? impulses?.[0] ?? null;
  return { impulse, creating: false, choose };
}

/** A drop-down to switch between the project's impulses. */
export function ImpulsePicker({ impulses, current, onChoose, allowNew }: { impulses: Impulse[]; current: Impulse | null; onChoose: (id: number | "new") => void; allowNew: boolean }) {
  if (impulses.length < 2 && !allowNew) return null;
  return (
    <label className="field impulse-picker">
      <span>Impulse</span>
      <select name="impulse" value={current ? String(current.id) : "new"} onChange={(e) => onChoose(e.target.value === "new" ? "new" : Number(e.target.value))}>
        {impulses.map((i) => <option key={i.id} value={i.id}>{i.name} (v{i.version})</option>)}
        {allowNew && <option value="new">+ New impulse</option>}
      </select>
    </label>
  );
}

export function useImpulses(projectId: number) {
  return useQuery({
    queryKey: ["project", projectId, "impulses"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/impulses", { params: { path: { project_id: projectId } } })),
  });
}

function draftFrom(impulse: Impulse): Draft {
  const spec = impulse.spec as { input: InputBlock; dsp: Draft["dsp"][]; learn: Draft["learn"][] };
  return { name: impulse.name, input: spec.input, dsp: spec.dsp[0], learn: spec.learn[0] };
}

function blockSchema(blocks: Block[] | undefined, name: string): JsonSchema {
  return (blocks?.find((b) => b.name === name)?.parameters_schema ?? {}) as JsonSchema;
}

function InputFields({ input, onChange, errors, disabled }: { input: InputBlock; onChange: (i: InputBlock) => void; errors: Record<string, string>; disabled: boolean }) {
  const number = (key: "window_ms" | "stride_ms" | "frequency_hz", label: string, help: string) => (
    <div className="field" data-field={key}>
      <label htmlFor={`input-${key}`}>{label}</label>
      <input id={`input-${key}`} type="number" min={0} step="any" disabled={disabled} value={input[key]} aria-invalid={Boolean(errors[key])}
        onChange={(e) => onChange({ ...input, [key]: Number(e.target.value) })} />
      <span className="field-help">{help}</span>
      {errors[key] && <span className="field-error" role="alert">{errors[key]}</span>}
    </div>
  );
  return (
    <div className="schema-form">
      {number("window_ms", "Window size (ms)", "Length of the signal each classification sees.")}
      {number("stride_ms", "Window increase (ms)", "Distance between window starts when cutting samples.")}
      {number("frequency_hz", "Frequency (Hz)", "The data is resampled to this rate.")}
      <div className="field checkbox-field">
        <input id="input-zero_pad" type="checkbox" disabled={disabled} checked={input.zero_pad} onChange={(e) => onChange({ ...input, zero_pad: e.target.checked })} />
        <label htmlFor="input-zero_pad">Zero-pad short samples</label>
      </div>
    </div>
  );
}

function Preview({ projectId, draft }: { projectId: number; draft: Draft }) {
  const samples = useQuery({
    queryKey: ["project", projectId, "samples", "preview-list"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/samples", { params: { path: { project_id: projectId }, query: { limit: 200 } } })),
  });
  const [sampleId, setSampleId] = useState<number | null>(null);
  const [windowIndex, setWindowIndex] = useState(0);
  const chosen = sampleId ?? samples.data?.items[0]?.id ?? null;
  const preview = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/projects/{project_id}/impulses/preview", {
          params: { path: { project_id: projectId } },
          body: { input: draft.input, dsp: draft.dsp, sample_id: chosen!, window_index: windowIndex },
        }),
      ),
  });
  const data = preview.data;
  return (
    <Card title="DSP preview">
      <div className="inline-form">
        <label className="field">
          <span>Sample</span>
          <select name="preview-sample" value={chosen ?? ""} onChange={(e) => setSampleId(Number(e.target.value))}>
            {samples.data?.items.map((s) => <option key={s.id} value={s.id}>{s.name} ({s.label ?? "unlabelled"})</option>)}
          </select>
        </label>
        <label className="field">
          <span>Window</span>
          <input type="number" min={0} max={data ? data.windows - 1 : undefined} value={windowIndex} onChange={(e) => setWindowIndex(Math.max(0, Number(e.target.value)))} />
        </label>
        <button className="btn" disabled={chosen === null || preview.isPending} onClick={() => preview.mutate()}>
          {preview.isPending ? "Computing…" : "Show features"}
        </button>
      </div>
      <ErrorNote error={preview.error} />
      {data && (
        <>
          <p className="muted small">
            Window {data.window_index + 1} of {data.windows}, from {Math.round(data.window_start_ms)} ms · features {data.feature_shape.join(" × ")}
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

function FeatureExplorer({ projectId, impulse, editor }: { projectId: number; impulse: Impulse; editor: boolean }) {
  const navigate = useNavigate();
  const [startedJob, setJobId] = useState<number | null>(null);
  // Coming back to the page shows the features last generated for this version of the impulse.
  const earlier = useQuery({
    queryKey: ["project", projectId, "jobs", "features", impulse.version_id],
    queryFn: () =>
      unwrap(api.GET("/api/projects/{project_id}/jobs", { params: { path: { project_id: projectId }, query: { kind: "impulse.features", limit: 50 } } })),
    enabled: startedJob === null,
  });
  const previous = earlier.data?.items.find(
    (j) => (j.params as { impulse_version_id?: number }).impulse_version_id === impulse.version_id && j.status === "succeeded",
  );
  const jobId = startedJob ?? previous?.id ?? null;
  const start = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/projects/{project_id}/impulses/{impulse_id}/features", { params: { path: { project_id: projectId, impulse_id: impulse.id } }, body: {} })),
    onSuccess: (job) => setJobId(job.id),
  });
  const job = useJobEvents(projectId, jobId);
  const finishedJob = useQuery({
    queryKey: ["project", projectId, "job", jobId, "final"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/jobs/{job_id}", { params: { path: { project_id: projectId, job_id: jobId! } } })),
    enabled: job?.status === "succeeded",
  });
  const explorerArtifact = finishedJob.data?.artifacts?.find((a) => a.name === "explorer.json");
  const points = useQuery({
    queryKey: ["project", projectId, "artifact", explorerArtifact?.id],
    queryFn: async () => {
      const answer = await fetch(`/api/projects/${projectId}/artifacts/${explorerArtifact!.id}/download`, { credentials: "same-origin" });
      if (!answer.ok) throw new ApiError(answer.status, "download_failed", `cannot load the feature explorer (HTTP ${answer.status})`);
      const body = (await answer.json()) as { points?: ScatterPoint[] };
      return body.points ?? [];
    },
    enabled: Boolean(explorerArtifact),
  });
  return (
    <Card title="Features" actions={editor && <button className="btn btn-primary" disabled={start.isPending || (job !== null && job.status === "running")} onClick={() => start.mutate()}>Generate features</button>}>
      <ErrorNote error={start.error || points.error || finishedJob.error} />
      {jobId === null && <p className="muted">Generate the features of every window to see how well the labels separate (a 2-D projection).</p>}
      {jobId !== null && <JobProgress job={job} projectId={projectId} title="Feature generation" />}
      {points.data && points.data.length > 0 && (
        <Scatter points={points.data} onOpen={(p) => navigate(`/projects/${projectId}/data/${p.sample_id}?window=${p.window_start_ms}&length=${(impulse.spec as { input: InputBlock }).input.window_ms}`)} />
      )}
    </Card>
  );
}

export function ImpulsePage() {
  const project = useOutletContext<Project>();
  const queryClient = useQueryClient();
  const editor = atLeast(project.role, "editor");
  const blocks = useBlocks();
  const impulses = useImpulses(project.id);
  const firstSample = useQuery({
    queryKey: ["project", project.id, "samples", "first"],
    queryFn: () => unwrap(api.GET("/api/projects/{project_id}/samples", { params: { path: { project_id: project.id }, query: { limit: 1 } } })),
  });
  const { impulse, creating, choose } = useChosenImpulse(impulses.data);
  const [draft, setDraft] = useState<Draft | null>(null);
  const draftKey = creating ? "new" : impulse?.id ?? null;
  const [draftFor, setDraftFor] = useState<typeof draftKey>(draftKey);
  // Switching impulses starts a fresh draft.
  if (draftFor !== draftKey) {
    setDraftFor(draftKey);
    setDraft(null);
  }
  const [errors, setErrors] = useState<{ input: Record<string, string>; dsp: Record<string, string>; learn: Record<string, string>; other: string | null }>({ input: {}, dsp: {}, learn: {}, other: null });

  // Start from the saved impulse, or from sensible defaults for this project's data.
  useEffect(() => {
    if (draft || !blocks.data || !impulses.data || !firstSample.data) return;
    if (impulse) {
      setDraft(draftFrom(impulse));
      return;
    }
    const sample = firstSample.data.items[0];
    const frequency = sample ? Number(sample.frequency_hz.toFixed(3)) : 100;
    const audio = frequency >= 4000;
    const dspName = audio ? "mfcc" : blocks.data.dsp.find((b) => b.name === "spectral-analysis") ? "spectral-analysis" : blocks.data.dsp[0].name;
    const learnName = audio ? "classifier-conv1d" : "classifier-dense";
    setDraft({
      name: `Impulse ${(impulses.data?.length ?? 0) + 1}`,
      input: { window_ms: audio ? 1000 : 2000, stride_ms: audio ? 500 : 1000, frequency_hz: frequency, zero_pad: true },
      dsp: { block: dspName, params: defaultsFromSchema(blockSchema(blocks.data.dsp, dspName)) },
      learn: { block: learnName, params: defaultsFromSchema(blockSchema(blocks.data.learn, learnName)) },
    });
  }, [draft, blocks.data, impulses.data, firstSample.data, impulse]);

  const save = useMutation({
    mutationFn: (d: Draft) => {
      const spec = { input: d.input, dsp: [d.dsp], learn: [d.learn] };
      return impulse
        ? unwrap(api.PUT("/api/projects/{project_id}/impulses/{impulse_id}", { params: { path: { project_id: project.id, impulse_id: impulse.id } }, body: { name: d.name, spec, base_version: impulse.version } }))
        : unwrap(api.POST("/api/projects/{project_id}/impulses", { params: { path: { project_id: project.id } }, body: { name: d.name, spec } }));
    },
    onMutate: () => setErrors({ input: {}, dsp: {}, learn: {}, other: null }),
    onSuccess: (saved) => {
      if (!impulse) choose(saved.id);
      queryClient.setQueryData(["project", project.id, "impulses"], (old: Impulse[] | undefined) =>
        old && old.some((i) => i.id === saved.id) ? old.map((i) => (i.id === saved.id ? saved : i)) : [...(old ?? []), saved],
      );
    },
    onError: (err) => {
      const where = err instanceof ApiError ? splitErrorField(err.field, err.message) : null;
      const next = { input: {}, dsp: {}, learn: {}, other: null as string | null };
      if (where && where.path.startsWith("dsp")) next.dsp = { [where.property]: where.message };
      else if (where && where.path.startsWith("learn")) next.learn = { [where.property]: where.message };
      else if (where && where.path === "input") next.input = { [where.property]: where.message };
      else next.other = err.message;
      // Whatever the field, the full message also shows by the save button.
      next.other = err.message;
      setErrors(next);
    },
  });

  const dspBlock = useMemo(() => blocks.data?.dsp.find((b) => b.name === draft?.dsp.block), [blocks.data, draft?.dsp.block]);
  const learnBlock = useMemo(() => blocks.data?.learn.find((b) => b.name === draft?.learn.block), [blocks.data, draft?.learn.block]);

  if (blocks.isPending || impulses.isPending || firstSample.isPending) return <Loading what="the impulse" />;
  if (blocks.isError || impulses.isError) return <ErrorNote error={blocks.error || impulses.error} />;
  if (firstSample.data && firstSample.data.total === 0) {
    return (
      <>
        <h1>Impulse design</h1>
        <EmptyState title="Add data first">
          <p>An impulse is designed around your data's axes and rate. <Link to={`/projects/${project.id}/data`}>Upload samples</Link> first.</p>
        </EmptyState>
      </>
    );
  }
  if (!draft) return <Loading what="the impulse" />;
  const set = (patch: Partial<Draft>) => setDraft({ ...draft, ...patch });
  return (
    <>
      <header className="page-header">
        <div>
          <h1>Impulse design</h1>
          {impulses.data && <ImpulsePicker impulses={impulses.data} current={impulse} onChoose={choose} allowNew={editor && impulses.data.length > 0} />}
          <p className="muted">
            {impulse ? `${impulse.name}, version ${impulse.version}` : "Not saved yet"}
            {impulse?.shapes && ` · ${impulse.shapes.window_samples} readings × ${impulse.shapes.axes} axes per window → features ${impulse.shapes.dsp_output_shapes.map((s) => s.join("×")).join(", ")} → model input ${impulse.shapes.learn_input_shape.join("×")}`}
          </p>
        </div>
      </header>
      <div className="impulse-flow">
        <Card title="1 · Time series input">
          <InputFields input={draft.input} onChange={(input) => set({ input })} errors={errors.input} disabled={!editor} />
        </Card>
        <Card title="2 · Processing block">
          <label className="field block-select">
            <span>Block</span>
            <select name="dsp-block" disabled={!editor} value={draft.dsp.block}
              onChange={(e) => set({ dsp: { block: e.target.value, params: defaultsFromSchema(blockSchema(blocks.data.dsp, e.target.value)) } })}>
              {blocks.data.dsp.map((b) => <option key={b.name} value={b.name}>{b.title}</option>)}
            </select>
          </label>
          {dspBlock && <p className="muted small">{dspBlock.description}</p>}
          <SchemaForm schema={blockSchema(blocks.data.dsp, draft.dsp.block)} values={draft.dsp.params} serverErrors={errors.dsp} disabled={!editor}
            onChange={(params) => set({ dsp: { ...draft.dsp, params } })} />
        </Card>
        <Card title="3 · Learning block">
          <label className="field block-select">
            <span>Block</span>
            <select name="learn-block" disabled={!editor} value={draft.learn.block}
              onChange={(e) => set({ learn: { block: e.target.value, params: defaultsFromSchema(blockSchema(blocks.data.learn, e.target.value)) } })}>
              {blocks.data.learn.map((b) => <option key={b.name} value={b.name}>{b.title}</option>)}
            </select>
          </label>
          {learnBlock && <p className="muted small">{learnBlock.description}</p>}
          <SchemaForm schema={blockSchema(blocks.data.learn, draft.learn.block)} values={draft.learn.params} serverErrors={errors.learn} disabled={!editor}
            onChange={(params) => set({ learn: { ...draft.learn, params } })} />
        </Card>
      </div>
      {editor && (
        <div className="savebar">
          <label className="field">
            <span>Impulse name</span>
            <input name="impulse-name" value={draft.name} onChange={(e) => set({ name: e.target.value })} />
          </label>
          <button className="btn btn-primary" disabled={save.isPending} onClick={() => save.mutate(draft)}>
            {save.isPending ? "Saving…" : "Save impulse"}
          </button>
          {save.isSuccess && !save.isPending && <span className="ok-text small" role="status">Saved version {save.data.version}</span>}
          {errors.other && <p className="error-note" role="alert">{errors.other}</p>}
          {impulse && <Link className="btn" to={`/projects/${project.id}/training?impulse=${impulse.id}`}>Go to training →</Link>}
        </div>
      )}
      <Preview projectId={project.id} draft={draft} />
      {impulse && <FeatureExplorer projectId={project.id} impulse={impulse} editor={editor} />}
    </>
  );
}
