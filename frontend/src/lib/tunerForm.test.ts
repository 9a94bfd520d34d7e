import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ApiError, toApiError } from "../api/client";
import type { TunerDefaults } from "../api/tuner";
import { errorField, fieldMessage, INITIAL_VALUES, LIMITS, tunerRunBody, validateTunerForm, valuesFromDefaults, type TunerFormValues } from "./tunerForm";

const DEFAULTS: TunerDefaults = {
  board_id: "virtual-cortex-m4",
  budgets: { ram_bytes: 131_071, flash_bytes: 524_288, latency_ms: 250 },
  board_ram_bytes: 262_143,
  board_flash_bytes: 1_048_576,
  dsp_blocks: ["spectral-analysis", "flatten", "raw"],
  learn_blocks: ["dense", "conv1d"],
  max_trials: 30,
  parallel_trials: null,
};
const BOARD = { ram_bytes: DEFAULTS.board_ram_bytes, flash_bytes: DEFAULTS.board_flash_bytes };
const filled = (patch: Partial<TunerFormValues> = {}): TunerFormValues => ({
  ...valuesFromDefaults({ ...INITIAL_VALUES, boardId: "virtual-cortex-m4", impulseId: 7, maxEpochs: "12" }, DEFAULTS),
  ...patch,
});

describe("the tuner form", () => {
  it("takes budgets, blocks and counts from the defaults and keeps what the user typed elsewhere", () => {
    const values = filled();
    expect(values).toMatchObject({ ramKb: "128", flashKb: "512", latencyMs: "250", maxTrials: "30", parallelTrials: "", maxEpochs: "12", impulseId: 7 });
    expect(values.dspBlocks).toEqual(DEFAULTS.dsp_blocks);
    expect(validateTunerForm(values, BOARD)).toEqual({});
  });

  it("sends the defaults' budgets to the byte and typed budgets in bytes", () => {
    expect(tunerRunBody(filled(), DEFAULTS)).toEqual({
      board_id: "virtual-cortex-m4",
      budgets: { ram_bytes: 131_071, flash_bytes: 524_288, latency_ms: 250 },
      max_trials: 30,
      time_budget_s: null,
      parallel_trials: null,
      sampler: "tpe",
      seed: 1,
      dsp_blocks: ["spectral-analysis", "flatten", "raw"],
      learn_blocks: ["dense", "conv1d"],
      max_epochs: 12,
      impulse_id: 7,
    });
    const body = tunerRunBody(filled({ ramKb: "8", flashKb: "32.5", latencyMs: "2.5", timeBudgetMin: "10", sampler: "random" }), DEFAULTS);
    expect(body.budgets).toEqual({ ram_bytes: 8192, flash_bytes: 33_280, latency_ms: 2.5 });
    expect(body.time_budget_s).toBe(600);
    expect(body.sampler).toBe("random");
    // Empty: as many trials at once as the workers take; a number caps them.
    expect(tunerRunBody(filled({ parallelTrials: "3" }), DEFAULTS).parallel_trials).toBe(3);
  });

  it("says what to change for each setting out of its limits", () => {
    const errors = validateTunerForm(
      filled({
        boardId: "",
        ramKb: "0",
        flashKb: "2000",
        latencyMs: "abc",
        maxTrials: "501",
        parallelTrials: "1.5",
        maxEpochs: "0",
        timeBudgetMin: "0.5",
        seed: "-1",
        dspBlocks: [],
        learnBlocks: [],
      }),
      BOARD,
    );
    expect(errors).toEqual({
      board_id: "Choose the board the impulse has to fit.",
      ram_bytes: "Give the RAM budget in KB, a number above 0.",
      flash_bytes: "The board has 1024 KB of flash: give at most that.",
      latency_ms: "Give the time per window in milliseconds, above 0 and at most 3,600,000.",
      max_trials: "Choose a whole number of trials from 1 to 500.",
      parallel_trials: "Run 1 to 16 trials at once.",
      max_epochs: "Train each trial for 1 to 500 epochs.",
      time_budget_s: "Give 1 to 1,440 minutes, or leave it empty to stop only after the trial count.",
      seed: "Give a whole number from 0 to 2,147,483,647.",
      dsp_blocks: "Choose at least one processing block to search.",
      learn_blocks: "Choose at least one learning block to search.",
    });
    expect(validateTunerForm(filled({ ramKb: "256" }), BOARD).ram_bytes).toBe("The board has 256 KB of RAM: give at most that.");
    expect(validateTunerForm(filled({ ramKb: "255.99" }), BOARD)).toEqual({});
    expect(validateTunerForm(filled({ timeBudgetMin: "" }), BOARD)).toEqual({});
  });

  it("holds its limits to the API's schema", () => {
    const openapi = JSON.parse(readFileSync(resolve(import.meta.dirname, "../../openapi.json"), "utf8"));
    const schemas = openapi.components.schemas;
    const property = (schema: string, name: string) => {
      const p = schemas[schema].properties[name];
      return p.anyOf ? p.anyOf.find((a: { type: string }) => a.type !== "null") : p;
    };
    for (const name of ["max_trials", "parallel_trials", "max_epochs", "time_budget_s", "seed"] as const) {
      expect({ name, min: property("TunerRunCreate", name).minimum, max: property("TunerRunCreate", name).maximum }).toEqual({ name, ...LIMITS[name] });
    }
    expect(property("BudgetsIn", "latency_ms").maximum).toBe(LIMITS.latency_ms.max);
    expect(property("BudgetsIn", "ram_bytes").exclusiveMinimum).toBe(0);
  });
});

describe("server errors beside their fields", () => {
  it("finds the field a service error names, and a validation error's path", () => {
    const service = toApiError(422, {
      detail: { code: "invalid_tuner_run", message: "budgets.ram_bytes: 999,999 B is more than the board's", field: "budgets.ram_bytes" },
    });
    expect(errorField(service)).toBe("ram_bytes");
    expect(fieldMessage(service)).toBe("999,999 B is more than the board's");
    const validation = toApiError(422, { detail: { code: "validation_error", message: "dsp_blocks.0: Input should be a valid string", errors: [] } });
    expect(errorField(validation)).toBe("dsp_blocks");
    expect(errorField(new ApiError(400, "cannot_tune", "there is no testing data", "dataset"))).toBeNull();
    expect(errorField(new Error("board_id: no"))).toBeNull();
  });
});
