/** Impulse design: input, DSP and learning blocks from their schemas, DSP preview, features, versions. */
import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useOutletContext, useSearchParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, unwrap, type Project, type Schemas } from "../api/client";
import { useJobEvents } from "../api/jobs";
import { atLeast } from "../api/queries";
import { JobProgress } from "../components/JobProgress";
import { LineChart } from "../components/LineChart";
import { FeatureBars, Scatter, type ScatterPoint } from "../components/Scatter";
import { blockWithDefaults, draftSchemas, ImpulseBlocksCard } from "../components/ImpulseBlocks";
import { ImpulseHistory } from "../components/ImpulseHistory";
import { InputBlockCard, useInputDefaults } from "../components/InputBlockCard";
import { Card, EmptyState, ErrorNote, Loading } from "../components/ui";
import {
  asSpec,
  draftErrors,
  draftFromSpec,
  NO_ERRORS,
  sameValue,
  specFromDraft,
  type Draft,
  type DraftBlock,
  type DraftErrors,
  type InputBlock,
} from "../lib/impulseDraft";
import { draftProblems, impulseErrorInWords } from "../lib/impulseProblems";

type Impulse = Schemas["ImpulseOut"];
type Block = Schemas["BlockInfo"];

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
export function ImpulsePicker({
  impulses,
  current,
  onChoose,
  allowNew,
}: {
  impulses: Impulse[];
  current: Impulse | null;
  onChoose: (id: number | "new") => void;
  allowNew: boolean;
}) {
  if (impulses.length < 2 && !allowNew) return null;
  return (
    <label className="field impulse-picker">
      <span>Impulse</span>
      <select name="impulse" value={current ? String(current.id) : "new"} onChange={(e) => onChoose(e.target.value === "new" ? "new" : Number(e.target.value))}>
        {impulses.map((i) => (
          <option key={i.id} value={i.id}>
            {i.name} (v{i.version})
          </option>
        ))}
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
  return draftFromSpec(impulse.name, asSpec(impulse.spec));
}

function Preview({ projectId, draft, catalog }: { projectId: number; draft: Draft; catalog: Block[] }) {
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
      unwrap(
        api.POST("/api/projects/{project_id}/impulses/{impulse_id}/features", {
          params: { path: { project_id: projectId, impulse_id: impulse.id } },
          body: {},
        }),
      ),
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
    <Card
      title="Features"
      actions={
        editor && (
          <button className="btn btn-primary" disabled={start.isPending || (job !== null && job.status === "running")} onClick={() => start.mutate()}>
            Generate features
          </button>
        )
      }
    >
      <ErrorNote error={start.error || points.error || finishedJob.error} />
      {jobId === null && <p className="muted">Generate the features of every window to see how well the labels separate (a 2-D projection).</p>}
      {asSpec(impulse.spec).dsp.length > 1 && (
        <p className="muted small">
          The saved version has {asSpec(impulse.spec).dsp.length} processing blocks: their features are joined, as the learning blocks see them.
        </p>
      )}
      {jobId !== null && <JobProgress job={job} projectId={projectId} title="Feature generation" />}
      {points.data && points.data.length > 0 && (
        <Scatter
          points={points.data}
          onOpen={(p) =>
            navigate(`/projects/${projectId}/data/${p.sample_id}?window=${p.window_start_ms}&length=${(impulse.spec as { input: InputBlock }).input.window_ms}`)
          }
        />
      )}
    </Card>
  );
}

/** How the learning blocks get their input, said only when there is more than one block to connect. */
function LearnNote({ draft, impulse }: { draft: Draft; impulse: Impulse | null }) {
  if (draft.dsp.length < 2 && draft.learn.length < 2) return null;
  // The size is known for the saved design; an edited one is measured when it is saved.
  const saved =
    impulse && sameValue(draft.input, asSpec(impulse.spec).input) && sameValue(specFromDraft(draft).dsp, asSpec(impulse.spec).dsp) ? impulse.shapes : null;
  const input = draft.dsp.length > 1 ? `the features of all ${draft.dsp.length} processing blocks, joined` : "the features of the processing block";
  return (
    <p className="muted small">
      Every learning block takes {input}
      {saved ? ` (${saved.learn_input_shape.join(" × ")} values)` : ""}.{draft.learn.length > 1 && " Each one is trained in a run of its own."}
    </p>
  );
}

export function ImpulsePage() {
  const project = useOutletContext<Project>();
  const queryClient = useQueryClient();
  const editor = atLeast(project.role, "editor");
  const blocks = useBlocks();
  const impulses = useImpulses(project.id);
  const inputDefaults = useInputDefaults(project.id);
  const { impulse, creating, choose } = useChosenImpulse(impulses.data);
  const [draft, setDraft] = useState<Draft | null>(null);
  const draftKey = creating ? "new" : (impulse?.id ?? null);
  const [draftFor, setDraftFor] = useState<typeof draftKey>(draftKey);
  // Switching impulses starts a fresh draft.
  if (draftFor !== draftKey) {
    setDraftFor(draftKey);
    setDraft(null);
  }
  const [errors, setErrors] = useState<{ fields: DraftErrors; other: string | null }>({ fields: NO_ERRORS, other: null });

  // Start from the saved impulse, or from the input the project's data suggests.
  useEffect(() => {
    if (draft || !blocks.data || !impulses.data || !inputDefaults.data) return;
    if (impulse) {
      setDraft(draftFrom(impulse));
      return;
    }
    const input = asSpec({ input: inputDefaults.data.input }).input;
    const audio = input.frequency_hz >= 4000;
    const dspName = audio ? "mfcc" : blocks.data.dsp.find((b) => b.name === "spectral-analysis") ? "spectral-analysis" : blocks.data.dsp[0].name;
    const learnName = audio ? "classifier-conv1d" : "classifier-dense";
    setDraft(
      draftFromSpec(`Impulse ${(impulses.data?.length ?? 0) + 1}`, {
        input,
        dsp: [blockWithDefaults(blocks.data.dsp, dspName)],
        learn: [blockWithDefaults(blocks.data.learn, learnName)],
      }),
    );
  }, [draft, blocks.data, impulses.data, inputDefaults.data, impulse]);

  const updateImpulseList = (saved: Impulse) =>
    queryClient.setQueryData(["project", project.id, "impulses"], (old: Impulse[] | undefined) =>
      old && old.some((i) => i.id === saved.id) ? old.map((i) => (i.id === saved.id ? saved : i)) : [...(old ?? []), saved],
    );
  const save = useMutation({
    mutationFn: (d: Draft) => {
      const spec = specFromDraft(d);
      return impulse
        ? unwrap(
            api.PUT("/api/projects/{project_id}/impulses/{impulse_id}", {
              params: { path: { project_id: project.id, impulse_id: impulse.id } },
              body: { name: d.name, spec, base_version: impulse.version },
            }),
          )
        : unwrap(api.POST("/api/projects/{project_id}/impulses", { params: { path: { project_id: project.id } }, body: { name: d.name, spec } }));
    },
    onMutate: () => setErrors({ fields: NO_ERRORS, other: null }),
    onSuccess: (saved) => {
      if (!impulse) choose(saved.id);
      // The editor goes on from what was stored (the server fills in defaults).
      else setDraft(draftFrom(saved));
      updateImpulseList(saved);
    },
    onError: (err, d) => {
      // The field's block shows the problem; the message, naming block and setting, also shows by the save button.
      const field = err instanceof ApiError ? err.field : null;
      setErrors({
        fields: field ? draftErrors(d, field, err.message) : NO_ERRORS,
        other: blocks.data ? impulseErrorInWords(d, field, err.message, draftSchemas(blocks.data)) : err.message,
      });
    },
  });

  const dirty = useMemo(
    () => Boolean(impulse && draft && (draft.name !== impulse.name || !sameValue(specFromDraft(draft), asSpec(impulse.spec)))),
    [impulse, draft],
  );

  if (blocks.isPending || impulses.isPending || inputDefaults.isPending) return <Loading what="the impulse" />;
  if (blocks.isError || impulses.isError || inputDefaults.isError) return <ErrorNote error={blocks.error || impulses.error || inputDefaults.error} />;
  if (!editor && !impulse) {
    return (
      <>
        <h1>Impulse design</h1>
        <EmptyState title="No impulse yet">
          <p>When an editor designs an impulse (window, processing and learning blocks), it shows here.</p>
        </EmptyState>
      </>
    );
  }
  if (!impulse && inputDefaults.data.samples === 0) {
    return (
      <>
        <h1>Impulse design</h1>
        <EmptyState title="Add data first">
          <p>
            An impulse is designed around your data's axes and rate. <Link to={`/projects/${project.id}/data`}>Upload samples</Link> first.
          </p>
        </EmptyState>
      </>
    );
  }
  if (!draft) return <Loading what="the impulse" />;
  const set = (patch: Partial<Draft>) => setDraft({ ...draft, ...patch });
  // Checked as the fields are: a draft the server would refuse is not sent.
  const problems = draftProblems(draft, draftSchemas(blocks.data));
  return (
    <>
      <header className="page-header">
        <div>
          <h1>Impulse design</h1>
          {impulses.data && <ImpulsePicker impulses={impulses.data} current={impulse} onChoose={choose} allowNew={editor && impulses.data.length > 0} />}
          <p className="muted">
            {impulse ? `${impulse.name}, version ${impulse.version}` : "Not saved yet"}
            {impulse?.shapes &&
              ` · ${impulse.shapes.window_samples} readings × ${impulse.shapes.axes} axes per window → features ${impulse.shapes.dsp_output_shapes.map((s) => s.join("×")).join(", ")} → model input ${impulse.shapes.learn_input_shape.join("×")}`}
          </p>
        </div>
      </header>
      <div className="impulse-flow">
        <InputBlockCard
          block={blocks.data.input}
          input={draft.input}
          defaults={inputDefaults.data}
          errors={errors.fields.input}
          editor={editor}
          onChange={(input) => set({ input })}
        />
        <ImpulseBlocksCard
          section="dsp"
          step={2}
          draft={draft}
          catalog={blocks.data.dsp}
          errors={errors.fields.blocks}
          editor={editor}
          onChange={setDraft}
          note={
            draft.dsp.length > 1 && (
              <p className="muted small">
                Each processing block reads every axis of the window; their features are joined into one vector for the learning blocks.
              </p>
            )
          }
        />
        <ImpulseBlocksCard
          section="learn"
          step={3}
          draft={draft}
          catalog={blocks.data.learn}
          errors={errors.fields.blocks}
          editor={editor}
          onChange={setDraft}
          note={<LearnNote draft={draft} impulse={impulse} />}
        />
      </div>
      {editor && (
        <div className="savebar">
          <label className="field">
            <span>Impulse name</span>
            <input name="impulse-name" value={draft.name} aria-invalid={!draft.name.trim()} onChange={(e) => set({ name: e.target.value })} />
          </label>
          <button
            className="btn btn-primary"
            disabled={save.isPending || problems.length > 0}
            aria-describedby={problems.length ? "impulse-problems" : undefined}
            onClick={() => save.mutate(draft)}
          >
            {save.isPending ? "Saving…" : "Save impulse"}
          </button>
          {problems.length > 0 && (
            <p className="field-error" id="impulse-problems" role="status">
              To save: {problems[0]}
              {problems.length > 1 && ` (and ${problems.length - 1} more, marked above)`}.
            </p>
          )}
          {save.isSuccess && !save.isPending && !dirty && (
            <span className="ok-text small" role="status">
              Saved version {save.data.version}
            </span>
          )}
          {dirty && <span className="muted small">Unsaved changes</span>}
          {errors.other && (
            <p className="error-note" role="alert">
              {errors.other}
            </p>
          )}
          {impulse && (
            <Link className="btn" to={`/projects/${project.id}/training?impulse=${impulse.id}`}>
              Go to training →
            </Link>
          )}
        </div>
      )}
      <Preview projectId={project.id} draft={draft} catalog={blocks.data.dsp} />
      {/* A new version starts from its own features (or none yet), not the last version's. */}
      {impulse && <FeatureExplorer key={impulse.version_id} projectId={project.id} impulse={impulse} editor={editor} />}
      {impulse && (
        <ImpulseHistory
          projectId={project.id}
          impulse={impulse}
          blocks={blocks.data}
          editor={editor}
          dirty={dirty}
          onRestored={(saved) => {
            save.reset();
            setErrors({ fields: NO_ERRORS, other: null });
            setDraft(draftFrom(saved));
            updateImpulseList(saved);
          }}
        />
      )}
    </>
  );
}
