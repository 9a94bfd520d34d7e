/** Impulse design: input, DSP and learning blocks from their schemas, DSP preview, features, versions. */
import { useEffect, useMemo, useState } from "react";
import { Link, useOutletContext } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, unwrap, type Project, type Schemas } from "../api/client";
import { atLeast } from "../api/queries";
import { blockWithDefaults, draftSchemas, ImpulseBlocksCard } from "../components/ImpulseBlocks";
import { ImpulseHistory } from "../components/ImpulseHistory";
import { InputBlockCard, useInputDefaults } from "../components/InputBlockCard";
import { EmptyState, ErrorNote, Loading } from "../components/ui";
import { asSpec, draftErrors, draftFromSpec, NO_ERRORS, sameValue, specFromDraft, type Draft, type DraftErrors } from "../lib/impulseDraft";
import { draftProblems, impulseErrorInWords } from "../lib/impulseProblems";
import { useBlocks, useImpulses } from "../api/impulses";
import { ImpulsePicker, useChosenImpulse } from "../components/impulse/ImpulsePicker";
import { Preview } from "../components/impulse/Preview";
import { FeatureExplorer } from "../components/impulse/FeatureExplorer";
import { LearnNote } from "../components/impulse/LearnNote";

type Impulse = Schemas["ImpulseOut"];

function draftFrom(impulse: Impulse): Draft {
  return draftFromSpec(impulse.name, asSpec(impulse.spec));
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
