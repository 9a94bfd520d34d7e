/** The Tuner form's values, their checks in words, and the request body they become. */
import { ApiError } from "../api/client";
import type { TunerDefaults, TunerRunCreate } from "../api/tuner";

/** The limits of a tuner run's settings, as the API states them (a test holds them to the schema). */
export const LIMITS = {
  max_trials: { min: 1, max: 500 },
  parallel_trials: { min: 1, max: 16 },
  max_epochs: { min: 1, max: 500 },
  time_budget_s: { min: 60, max: 86_400 },
  seed: { min: 0, max: 2 ** 31 - 1 },
  latency_ms: { max: 3_600_000 },
} as const;

export interface TunerFormValues {
  boardId: string;
  impulseId: number | null;
  ramKb: string;
  flashKb: string;
  latencyMs: string;
  maxTrials: string;
  timeBudgetMin: string;
  parallelTrials: string;
  sampler: "tpe" | "random";
  seed: string;
  dspBlocks: string[];
  learnBlocks: string[];
  maxEpochs: string;
}

/** Form fields are named after the request's fields, so the server's errors land on them. */
export type TunerField =
  | "board_id"
  | "ram_bytes"
  | "flash_bytes"
  | "latency_ms"
  | "max_trials"
  | "time_budget_s"
  | "parallel_trials"
  | "seed"
  | "dsp_blocks"
  | "learn_blocks"
  | "max_epochs"
  | "impulse_id"
  | "sampler";
export type TunerFormErrors = Partial<Record<TunerField, string>>;

export const INITIAL_VALUES: TunerFormValues = {
  boardId: "",
  impulseId: null,
  ramKb: "",
  flashKb: "",
  latencyMs: "",
  maxTrials: "30",
  timeBudgetMin: "",
  parallelTrials: "",
  sampler: "tpe",
  seed: "1",
  dspBlocks: [],
  learnBlocks: [],
  maxEpochs: "40",
};

/** A byte count as the KB text the form shows. */
export function kbText(bytes: number): string {
  return String(Number((bytes / 1024).toFixed(2)));
}

/** The values for a board and impulse: budgets, blocks and counts from the studio's defaults, the rest kept. */
export function valuesFromDefaults(values: TunerFormValues, defaults: TunerDefaults): TunerFormValues {
  return {
    ...values,
    ramKb: kbText(defaults.budgets.ram_bytes),
    flashKb: kbText(defaults.budgets.flash_bytes),
    latencyMs: String(Number(defaults.budgets.latency_ms.toFixed(3))),
    maxTrials: String(defaults.max_trials),
    parallelTrials: defaults.parallel_trials == null ? "" : String(defaults.parallel_trials),
    dspBlocks: [...defaults.dsp_blocks],
    learnBlocks: [...defaults.learn_blocks],
  };
}

function parse(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : NaN;
}

function wholeBetween(text: string, min: number, max: number): boolean {
  const value = parse(text);
  return value !== null && Number.isInteger(value) && value >= min && value <= max;
}

const count = (n: number) => n.toLocaleString("en-US");

/** Bytes from a KB text (null when it is not a positive number). */
function bytesOf(kb: string): number | null {
  const value = parse(kb);
  if (value === null || Number.isNaN(value) || value <= 0) return null;
  const bytes = Math.round(value * 1024);
  return bytes >= 1 ? bytes : null;
}

/** What is wrong with the values, per field, in words that say what to change. */
export function validateTunerForm(values: TunerFormValues, board: { ram_bytes: number; flash_bytes: number } | null): TunerFormErrors {
  const errors: TunerFormErrors = {};
  if (!values.boardId) errors.board_id = "Choose the board the impulse has to fit.";
  const ram = bytesOf(values.ramKb);
  if (ram === null) errors.ram_bytes = "Give the RAM budget in KB, a number above 0.";
  else if (board && ram > board.ram_bytes) errors.ram_bytes = `The board has ${kbText(board.ram_bytes)} KB of RAM: give at most that.`;
  const flash = bytesOf(values.flashKb);
  if (flash === null) errors.flash_bytes = "Give the flash budget in KB, a number above 0.";
  else if (board && flash > board.flash_bytes) errors.flash_bytes = `The board has ${kbText(board.flash_bytes)} KB of flash: give at most that.`;
  const latency = parse(values.latencyMs);
  if (latency === null || Number.isNaN(latency) || latency <= 0 || latency > LIMITS.latency_ms.max) {
    errors.latency_ms = `Give the time per window in milliseconds, above 0 and at most ${count(LIMITS.latency_ms.max)}.`;
  }
  const { max_trials, parallel_trials, max_epochs, time_budget_s, seed } = LIMITS;
  if (!wholeBetween(values.maxTrials, max_trials.min, max_trials.max))
    errors.max_trials = `Choose a whole number of trials from ${max_trials.min} to ${max_trials.max}.`;
  if (values.parallelTrials.trim() !== "" && !wholeBetween(values.parallelTrials, parallel_trials.min, parallel_trials.max))
    errors.parallel_trials = `Run ${parallel_trials.min} to ${parallel_trials.max} trials at once.`;
  if (!wholeBetween(values.maxEpochs, max_epochs.min, max_epochs.max))
    errors.max_epochs = `Train each trial for ${max_epochs.min} to ${max_epochs.max} epochs.`;
  if (values.timeBudgetMin.trim() !== "") {
    const minutes = parse(values.timeBudgetMin);
    const seconds = minutes === null || Number.isNaN(minutes) ? NaN : Math.round(minutes * 60);
    if (!(seconds >= time_budget_s.min && seconds <= time_budget_s.max)) {
      errors.time_budget_s = `Give ${time_budget_s.min / 60} to ${count(time_budget_s.max / 60)} minutes, or leave it empty to stop only after the trial count.`;
    }
  }
  if (!wholeBetween(values.seed, seed.min, seed.max)) errors.seed = `Give a whole number from ${seed.min} to ${count(seed.max)}.`;
  if (values.dspBlocks.length === 0) errors.dsp_blocks = "Choose at least one processing block to search.";
  if (values.learnBlocks.length === 0) errors.learn_blocks = "Choose at least one learning block to search.";
  return errors;
}

/** The request body; budgets left as the defaults showed them are sent exactly as the studio gave them. */
export function tunerRunBody(values: TunerFormValues, defaults: TunerDefaults | null): TunerRunCreate {
  const budget = (text: string, fallback: number | undefined) => (defaults && fallback !== undefined && text === kbText(fallback) ? fallback : bytesOf(text));
  const minutes = parse(values.timeBudgetMin);
  return {
    board_id: values.boardId,
    budgets: {
      ram_bytes: budget(values.ramKb, defaults?.budgets.ram_bytes) ?? undefined,
      flash_bytes: budget(values.flashKb, defaults?.budgets.flash_bytes) ?? undefined,
      latency_ms: Number(values.latencyMs),
    },
    max_trials: Number(values.maxTrials),
    time_budget_s: minutes === null ? null : Math.round(minutes * 60),
    parallel_trials: values.parallelTrials.trim() === "" ? null : Number(values.parallelTrials),
    sampler: values.sampler,
    seed: Number(values.seed),
    dsp_blocks: values.dspBlocks,
    learn_blocks: values.learnBlocks,
    max_epochs: Number(values.maxEpochs),
    impulse_id: values.impulseId,
  };
}

const FIELDS = new Set<string>([
  "board_id",
  "ram_bytes",
  "flash_bytes",
  "latency_ms",
  "max_trials",
  "time_budget_s",
  "parallel_trials",
  "seed",
  "dsp_blocks",
  "learn_blocks",
  "max_epochs",
  "impulse_id",
  "sampler",
]);

/**
 * The form field a server error names: its `field` ("budgets.ram_bytes"), else the path that
 * starts a validation message ("budgets.ram_bytes: Input should be greater than 0").
 */
export function errorField(err: unknown): TunerField | null {
  if (!(err instanceof ApiError)) return null;
  const path = err.field ?? /^([\w.]+):\s/.exec(err.message)?.[1] ?? null;
  if (!path) return null;
  // List items are named by position ("dsp_blocks.0"): the field is the list.
  const name =
    path
      .split(".")
      .filter((part) => !/^\d+$/.test(part))
      .pop() ?? "";
  return FIELDS.has(name) ? (name as TunerField) : null;
}

/** A server error's message as it reads beside its field: without the field's path in front. */
export function fieldMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^[\w.]+:\s/, "");
}
