/** The form that starts a tuner run: board, budgets, search size, sampler and the blocks to search. */
import { useState, type FormEvent, type ReactNode } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../api/client";
import { startTunerRun, tunerKeys, useTunerDefaults, type TunerRun } from "../../api/tuner";
import {
  errorField,
  fieldMessage,
  INITIAL_VALUES,
  kbText,
  tunerRunBody,
  validateTunerForm,
  valuesFromDefaults,
  type TunerField,
  type TunerFormErrors,
  type TunerFormValues,
} from "../../lib/tunerForm";
import { Card, ErrorNote, formatBytes } from "../ui";
import { refresh } from "../../api/queries";

type Impulse = Schemas["ImpulseOut"];
type BlockInfo = Schemas["BlockInfo"];

function Field({ name, label, help, error, children }: { name: TunerField; label: string; help?: ReactNode; error?: string; children: ReactNode }) {
  return (
    <label className="field" data-field={name}>
      <span>{label}</span>
      {children}
      {help && <span className="field-help">{help}</span>}
      {error && (
        <span className="field-error" id={`tuner-${name}-error`} role="alert">
          {error}
        </span>
      )}
    </label>
  );
}

/** Props an input gets for its field: the invalid mark and the error it is described by. */
function invalid(errors: TunerFormErrors, name: TunerField) {
  return errors[name] ? { "aria-invalid": true, "aria-describedby": `tuner-${name}-error` } : {};
}

function BlockChoice({
  legend,
  name,
  blocks,
  chosen,
  titles,
  error,
  onChange,
}: {
  legend: string;
  name: TunerField;
  blocks: string[];
  chosen: string[];
  titles: BlockInfo[] | undefined;
  error?: string;
  onChange: (blocks: string[]) => void;
}) {
  return (
    <fieldset className="tuner-blocks" data-field={name} aria-invalid={Boolean(error)}>
      <legend>{legend}</legend>
      {blocks.map((block) => (
        <label key={block} className="field checkbox-field">
          <input
            type="checkbox"
            name={`${name}-${block}`}
            checked={chosen.includes(block)}
            onChange={(e) => onChange(e.target.checked ? [...chosen, block] : chosen.filter((b) => b !== block))}
          />
          {titles?.find((b) => b.name === block)?.title ?? block}
        </label>
      ))}
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </fieldset>
  );
}

export function TunerForm({
  projectId,
  impulses,
  blocks,
  onStarted,
}: {
  projectId: number;
  impulses: Impulse[];
  blocks: Schemas["BlocksOut"] | undefined;
  onStarted: (run: TunerRun) => void;
}) {
  const queryClient = useQueryClient();
  const boards = useQuery({ queryKey: ["boards"], queryFn: () => unwrap(api.GET("/api/boards")), staleTime: Infinity });
  const [values, setValues] = useState<TunerFormValues>({ ...INITIAL_VALUES, impulseId: impulses[0]?.id ?? null });
  const [checked, setChecked] = useState(false);
  const defaults = useTunerDefaults(projectId, values.boardId, values.impulseId);
  // Budgets and blocks follow the chosen board and impulse; the other settings stay as typed.
  const defaultsKey = `${values.boardId}:${values.impulseId ?? ""}`;
  const [filledFor, setFilledFor] = useState("");
  if (defaults.data && filledFor !== defaultsKey) {
    setFilledFor(defaultsKey);
    setValues(valuesFromDefaults(values, defaults.data));
  }
  const filled = Boolean(defaults.data) && filledFor === defaultsKey;
  const board = boards.data?.find((b) => b.id === values.boardId) ?? null;
  const boardSize = defaults.data ? { ram_bytes: defaults.data.board_ram_bytes, flash_bytes: defaults.data.board_flash_bytes } : board;
  const errors = checked ? validateTunerForm(values, boardSize) : {};
  const start = useMutation({
    mutationFn: () => startTunerRun(projectId, tunerRunBody(values, filled ? defaults.data! : null)),
    onSuccess: (run) => {
      setChecked(false);
      void refresh(queryClient, tunerKeys.runs(projectId));
      onStarted(run);
    },
  });
  const serverField = errorField(start.error);
  const defaultsField = errorField(defaults.error);
  const shown: TunerFormErrors = { ...errors };
  // The server's word on a field (a board it cannot tune for, a budget too large) sits beside it.
  if (defaultsField && !shown[defaultsField]) shown[defaultsField] = fieldMessage(defaults.error);
  if (serverField && !shown[serverField]) shown[serverField] = fieldMessage(start.error);
  const set = (patch: Partial<TunerFormValues>) => {
    setValues({ ...values, ...patch });
    if (start.error) start.reset();
  };

  function submit(e: FormEvent) {
    e.preventDefault();
    setChecked(true);
    if (Object.keys(validateTunerForm(values, boardSize)).length === 0) start.mutate();
  }

  const text = (name: TunerField, key: keyof TunerFormValues, label: string, help?: ReactNode, unit?: string) => (
    <Field name={name} label={unit ? `${label} (${unit})` : label} help={help} error={shown[name]}>
      <input
        name={name}
        type="number"
        inputMode="decimal"
        step="any"
        value={String(values[key] ?? "")}
        disabled={!filled && ["ram_bytes", "flash_bytes", "latency_ms"].includes(name)}
        onChange={(e) => set({ [key]: e.target.value })}
        {...invalid(shown, name)}
      />
    </Field>
  );

  return (
    <Card title="Search for an impulse that fits a board">
      <form className="tuner-form" onSubmit={submit} noValidate aria-label="New tuner run">
        <div className="tuner-grid">
          <Field
            name="board_id"
            label="Target board"
            error={shown.board_id}
            help={
              board
                ? `${board.core} at ${board.clock_hz / 1e6} MHz · ${formatBytes(board.ram_bytes)} RAM · ${formatBytes(board.flash_bytes)} flash`
                : "Every trial is built for this board and measured."
            }
          >
            <select name="board_id" value={values.boardId} onChange={(e) => set({ boardId: e.target.value })} {...invalid(shown, "board_id")}>
              <option value="">Choose a board…</option>
              {boards.data?.map((b) => (
                <option key={b.id} value={b.id}>
                  {b.name} ({formatBytes(b.ram_bytes)} RAM, {formatBytes(b.flash_bytes)} flash)
                </option>
              ))}
            </select>
          </Field>
          <Field name="impulse_id" label="Base impulse" error={shown.impulse_id} help="Its frequency is kept; the trial you choose becomes its next version.">
            <select name="impulse_id" value={values.impulseId ?? ""} onChange={(e) => set({ impulseId: e.target.value ? Number(e.target.value) : null })}>
              {impulses.map((i) => (
                <option key={i.id} value={i.id}>
                  {i.name} (v{i.version})
                </option>
              ))}
              <option value="">none (a new impulse)</option>
            </select>
          </Field>
        </div>
        <h3>
          Budgets <span className="muted small">(what the impulse may use on the board: model, DSP and their buffers)</span>
        </h3>
        {!values.boardId && <p className="muted small">Choose a board to see its budgets.</p>}
        {values.boardId && defaults.isPending && (
          <p className="muted small" role="status">
            Loading the board's budgets…
          </p>
        )}
        {!defaultsField && <ErrorNote error={defaults.error} />}
        <div className="tuner-grid">
          {text("ram_bytes", "ramKb", "RAM", boardSize ? `of ${kbText(boardSize.ram_bytes)} KB on the board` : undefined, "KB")}
          {text("flash_bytes", "flashKb", "Flash", boardSize ? `of ${kbText(boardSize.flash_bytes)} KB on the board` : undefined, "KB")}
          {text("latency_ms", "latencyMs", "Time per window", "DSP and inference, estimated from counted instructions", "ms")}
        </div>
        <h3>Search</h3>
        <div className="tuner-grid">
          {text("max_trials", "maxTrials", "Trials", "how many candidates to train and measure")}
          {text("time_budget_s", "timeBudgetMin", "Time budget", "optional: no new trial starts after it", "minutes")}
          {text("parallel_trials", "parallelTrials", "Trials at once", "optional: by default as many as the workers take")}
          {text("max_epochs", "maxEpochs", "Epochs per trial", "poor trials are stopped early")}
          <Field name="sampler" label="Sampler" error={shown.sampler}>
            <select name="sampler" value={values.sampler} onChange={(e) => set({ sampler: e.target.value as TunerFormValues["sampler"] })}>
              <option value="tpe">TPE with constraints</option>
              <option value="random">Random (baseline)</option>
            </select>
          </Field>
          {text("seed", "seed", "Seed", "the same seed repeats a search")}
        </div>
        {filled && (
          <div className="tuner-grid">
            <BlockChoice
              legend="Processing blocks to try"
              name="dsp_blocks"
              blocks={defaults.data!.dsp_blocks}
              chosen={values.dspBlocks}
              titles={blocks?.dsp}
              error={shown.dsp_blocks}
              onChange={(dspBlocks) => set({ dspBlocks })}
            />
            <BlockChoice
              legend="Learning blocks to try"
              name="learn_blocks"
              blocks={defaults.data!.learn_blocks}
              chosen={values.learnBlocks}
              titles={blocks?.learn}
              error={shown.learn_blocks}
              onChange={(learnBlocks) => set({ learnBlocks })}
            />
          </div>
        )}
        {start.error && !serverField && <ErrorNote error={start.error} />}
        {checked && Object.keys(errors).length > 0 && (
          <p className="error-note" role="alert">
            Some settings need a change: see the fields marked above.
          </p>
        )}
        <div className="inline-form">
          <button className="btn btn-primary" type="submit" disabled={start.isPending || !filled}>
            {start.isPending ? "Starting…" : "Start search"}
          </button>
          <span className="muted small">
            Trials are scored by int8 validation accuracy (within one window of the best, the lower validation loss wins); the test split is only reported.
          </span>
        </div>
      </form>
    </Card>
  );
}
