/** Trials shaped like the API's answers, for the Tuner page's tests. */
import type { TunerTrial } from "../api/tuner";

/** A trial as the API answers it, with the figures a test cares about. */
export function trial(number: number, over: Partial<TunerTrial> = {}): TunerTrial {
  return {
    id: 100 + number,
    number,
    status: "succeeded",
    params: { "input.window_ms": 1000 },
    starting_point: false,
    spec: { input: { window_ms: 1000, stride_ms: 500 }, dsp: [{ block: "flatten", params: {} }], learn: [{ block: "dense", params: {} }] },
    accuracy: { float32_validation: null, int8_validation: null, float32_test: null, int8_test: null },
    ram_bytes: null,
    flash_bytes: null,
    latency_ms: null,
    instructions: null,
    fits: null,
    pareto: false,
    best: false,
    error: null,
    train_job_id: null,
    measure_job_id: null,
    timings: {},
    created_at: "2026-12-05T10:00:00",
    finished_at: null,
    ...over,
  };
}

/** A measured trial that fits unless told otherwise. */
export const measured = (number: number, accuracy: number, ram: number, latency: number, over: Partial<TunerTrial> = {}) =>
  trial(number, { accuracy: { int8_validation: accuracy }, ram_bytes: ram, flash_bytes: ram * 3, latency_ms: latency, fits: true, ...over });
