import { describe, expect, it } from "vitest";
import { measured, trial } from "./tunerTestData";
import {
  chartPoints,
  formatKb,
  formatMs,
  frontLine,
  keyParams,
  prunedEpochs,
  percent,
  runElapsedMs,
  runProgress,
  sortTrials,
  trialStatusDetail,
  trialWindow,
} from "./tuner";

describe("trial parameters", () => {
  it("names each section's block with the parameters searched for it, without the block prefix", () => {
    const t = trial(0, {
      params: {
        window_ms: 1000,
        dsp: "spectral-analysis",
        "spectral-analysis.fft_length": 64,
        "spectral-analysis.filter_cutoff": 3.14159,
        "dense.layers": [20, 10],
        "dense.learning_rate": 0.00123,
        "dense.dropout": true,
      },
      spec: { input: { window_ms: 1000, stride_ms: 250 }, dsp: [{ block: "spectral-analysis", params: {} }], learn: [{ block: "dense", params: {} }] },
    });
    expect(keyParams(t, "dsp")).toEqual({ block: "spectral-analysis", params: ["fft_length 64", "filter_cutoff 3.14"] });
    expect(keyParams(t, "learn")).toEqual({ block: "dense", params: ["layers 20-10", "learning_rate 0.00123", "dropout on"] });
    expect(trialWindow(t)).toBe("1000 / 250 ms");
  });

  it("says nothing of a section the trial has not chosen yet", () => {
    const t = trial(1, { spec: {} });
    expect(keyParams(t, "dsp")).toEqual({ block: null, params: [] });
    expect(trialWindow(t)).toBe("—");
  });

  it("explains a trial that stopped short, and only such a trial", () => {
    expect(trialStatusDetail({ status: "pruned", error: null }, 6)).toBe("at epoch 6");
    expect(trialStatusDetail({ status: "pruned", error: null })).toBeNull();
    expect(trialStatusDetail({ status: "failed", error: "window longer than the samples" })).toBe("window longer than the samples");
    expect(trialStatusDetail({ status: "failed", error: null })).toBeNull();
    expect(trialStatusDetail({ status: "training", error: "old" })).toBeNull();
  });
});

describe("pruned trials", () => {
  it("reads the epoch each pruned trial stopped after from its training job", () => {
    const trials = [
      trial(0, { status: "pruned", train_job_id: 7 }),
      trial(1, { status: "succeeded", train_job_id: 8 }),
      trial(2, { status: "pruned", train_job_id: 9 }),
    ];
    const jobs = [
      { id: 7, result: { pruned_after_epoch: 4 } },
      { id: 8, result: { pruned_after_epoch: 2 } },
      { id: 9, result: null },
    ];
    expect([...prunedEpochs(trials, jobs)]).toEqual([[100, 4]]);
  });
});

describe("figures", () => {
  it("writes accuracy, bytes and milliseconds with a dash for missing figures", () => {
    expect(percent(0.9234)).toBe("92.3 %");
    expect(percent(null)).toBe("—");
    expect(formatKb(9320)).toBe("9.10 KB");
    expect(formatKb(65536)).toBe("64.0 KB");
    expect(formatMs(1.234)).toBe("1.23 ms");
    expect(formatMs(123.4)).toBe("123 ms");
    expect(formatMs(undefined)).toBe("—");
  });
});

describe("sorting", () => {
  const trials = [measured(0, 0.8, 9000, 3), trial(1, { status: "training" }), measured(2, 0.95, 12000, 1), measured(3, 0.8, 4000, 2)];
  const order = (key: Parameters<typeof sortTrials>[1], descending: boolean) => sortTrials(trials, key, descending).map((t) => t.number);

  it("orders by accuracy, RAM or latency and keeps unmeasured trials last either way", () => {
    expect(order("accuracy", true)).toEqual([2, 0, 3, 1]);
    expect(order("accuracy", false)).toEqual([0, 3, 2, 1]);
    expect(order("ram", false)).toEqual([3, 0, 2, 1]);
    expect(order("ram", true)).toEqual([2, 0, 3, 1]);
    expect(order("latency", false)).toEqual([2, 3, 0, 1]);
    expect(order("number", true)).toEqual([3, 2, 1, 0]);
  });
});

describe("chart points", () => {
  const trials = [
    measured(0, 0.9, 8000, 4, { pareto: true }),
    measured(1, 0.95, 20000, 2, { pareto: true, fits: false }),
    measured(2, 0.85, 9000, 5),
    measured(3, 0.92, 10000, 1, { pareto: true, best: true }),
    trial(4, { status: "pruned", accuracy: { int8_validation: 0.5 } }),
  ];

  it("plots measured trials only, against the chosen figure, with a title naming each", () => {
    const ram = chartPoints(trials, "ram");
    expect(ram.map((p) => [p.number, p.x])).toEqual([
      [0, 8000],
      [1, 20000],
      [2, 9000],
      [3, 10000],
    ]);
    expect(chartPoints(trials, "latency").map((p) => p.x)).toEqual([4, 2, 5, 1]);
    expect(ram[1].fits).toBe(false);
    expect(ram[3].title).toBe("Trial 3 (best): 92.0 % int8 validation, 9.77 KB RAM, 29.3 KB flash, 1.00 ms per window; fits, on the Pareto front");
    expect(ram[1].title).toMatch(/; over budget, on the Pareto front$/);
  });

  it("joins the server's Pareto trials from left to right", () => {
    expect(frontLine(chartPoints(trials, "ram")).map((p) => p.number)).toEqual([0, 3, 1]);
    expect(frontLine(chartPoints(trials, "latency")).map((p) => p.number)).toEqual([3, 1, 0]);
  });
});

describe("run progress", () => {
  const settings = {
    max_trials: 10,
    time_budget_s: null,
    parallel_trials: 2,
    sampler: "tpe" as const,
    seed: 1,
    dsp_blocks: [],
    learn_blocks: [],
    max_epochs: 5,
  };

  it("counts against the trial count while running and against the trials asked once finished", () => {
    expect(runProgress({ status: "running", trials_done: 3, trials_total: 5, settings })).toEqual({ done: 3, total: 10, fraction: 0.3 });
    // A time budget can end a run before its trial count.
    expect(runProgress({ status: "succeeded", trials_done: 6, trials_total: 6, settings })).toEqual({ done: 6, total: 6, fraction: 1 });
  });

  it("measures elapsed time from the start to the end, or to now while running", () => {
    expect(runElapsedMs({ created_at: "2026-12-05T10:00:00", finished_at: "2026-12-05T10:02:30" }, 0)).toBe(150_000);
    expect(runElapsedMs({ created_at: "2026-12-05T10:00:00Z", finished_at: null }, Date.parse("2026-12-05T10:00:05Z"))).toBe(5000);
  });
});
