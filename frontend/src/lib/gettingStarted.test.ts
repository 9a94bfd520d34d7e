import { describe, expect, it } from "vitest";
import { gettingStarted } from "./gettingStarted";

const EMPTY = {
  samples: 0,
  trashed_samples: 0,
  training_labels: 0,
  testing_samples: 0,
  impulses: 0,
  training_runs: 0,
  succeeded_training_runs: 0,
  deployments: 0,
  succeeded_deployments: 0,
  device_tests: 0,
  virtual_board_sessions: 0,
};

describe("gettingStarted", () => {
  it("ticks nothing in a new project and says what each step needs", () => {
    const steps = gettingStarted(EMPTY);
    expect(steps.map((s) => s.page)).toEqual(["data", "impulse", "training", "deployment", "virtual-boards"]);
    expect(steps.some((s) => s.done)).toBe(false);
    expect(steps[0].status).toBe("Needs training samples of at least two labels and a test set");
  });

  it("wants two labels and a test set before data is done", () => {
    expect(gettingStarted({ ...EMPTY, samples: 6, training_labels: 2 })[0]).toMatchObject({ done: false, status: "Needs a test set (6 samples so far)" });
    expect(gettingStarted({ ...EMPTY, samples: 6, training_labels: 1, testing_samples: 2 })[0].done).toBe(false);
    expect(gettingStarted({ ...EMPTY, samples: 8, training_labels: 2, testing_samples: 2 })[0]).toMatchObject({
      done: true,
      status: "8 samples, 2 labels, 2 in the test set",
    });
  });

  it("counts only succeeded runs and builds, and any run on a board", () => {
    const failed = gettingStarted({ ...EMPTY, impulses: 1, training_runs: 2, deployments: 1 });
    expect(failed.map((s) => s.done)).toEqual([false, true, false, false, false]);
    expect(failed[2].status).toBe("No training run has succeeded yet");
    const all = gettingStarted({
      ...EMPTY,
      samples: 8,
      training_labels: 2,
      testing_samples: 2,
      impulses: 1,
      training_runs: 2,
      succeeded_training_runs: 1,
      deployments: 1,
      succeeded_deployments: 1,
      virtual_board_sessions: 3,
    });
    expect(all.every((s) => s.done)).toBe(true);
    expect(all[4].status).toBe("3 virtual board sessions");
  });
});
