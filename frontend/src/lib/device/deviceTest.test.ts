import { describe, expect, it } from "vitest";
import type { Classification } from "./device";
import { runDeviceTest, type DeviceTest } from "./deviceTest";

const INPUT = { window_ms: 200, stride_ms: 100, frequency_hz: 10, zero_pad: false };
const STEP = 1 / 256;
// The firmware's `info` for an int8 output: scores are (q + 128) / 256.
const OUTPUT = { scale: STEP, zero_point: -128 };

/** A "model" that says up when the window's values sum above zero, with int8 scores. */
async function board(values: Float32Array): Promise<Classification> {
  const up = values.reduce((a, b) => a + b, 0) > 0;
  return {
    label: up ? "up" : "down",
    label_index: up ? 0 : 1,
    scores: up ? [255 * STEP, STEP] : [STEP, 255 * STEP],
    anomaly: null,
    dsp_us: 3,
    inference_us: up ? 10 : 30,
  };
}

const test = (changes: Partial<DeviceTest>): DeviceTest => ({
  samples: [],
  studio: [],
  input: INPUT,
  classes: ["up", "down"],
  output: OUTPUT,
  classify: board,
  ...changes,
});

describe("runDeviceTest", () => {
  it("classifies every window, matches the studio's windows and counts agreement", async () => {
    // Sample 1: three readings at 10 Hz → windows at 0 and 100 ms; sample 2: one window.
    const samples = [
      { id: 1, intervalMs: 100, values: [[1], [2], [-9]] },
      { id: 2, intervalMs: 100, values: [[-1], [-1]] },
    ];
    const studio = [
      { sample_id: 1, window_start_ms: 0, label: "up", int8: "up" },
      { sample_id: 1, window_start_ms: 100, label: "up", int8: "up" },
      { sample_id: 2, window_start_ms: 0, label: "up", int8: "down" },
    ];
    const progress: number[] = [];
    const report = await runDeviceTest(test({ samples, studio, onProgress: (done) => progress.push(done) }));
    expect(progress).toEqual([1, 2, 3]);
    expect(report.windows).toBe(3);
    // Window 1@100 ms sums to -7: the device says down where the studio said up.
    expect(report.disagreements.map((d) => [d.sample_id, d.window_start_ms, d.device, d.studio_int8])).toEqual([[1, 100, "down", "up"]]);
    expect(report.agreement).toBeCloseTo(2 / 3);
    expect(report.device_accuracy).toBeCloseTo(1 / 3);
    expect(report.studio_int8_accuracy).toBeCloseTo(2 / 3);
    expect(report.confusion_matrix).toEqual([
      [1, 2],
      [0, 0],
    ]);
    expect(report.mean_inference_us).toBeCloseTo((10 + 30 + 30) / 3);
    // A result without per-window scores compares none.
    expect(report.scores).toMatchObject({ windows: 0, differing: 0, max_abs_difference: null });
    expect(report.anomaly).toBeNull();
  });

  it("finds scores equal to the studio's, even kept to six decimals", async () => {
    const samples = [{ id: 3, intervalMs: 100, values: [[1], [1], [-5]] }];
    const studio = [
      { sample_id: 3, window_start_ms: 0, label: "up", int8: "up", scores_int8: [0.996094, 0.003906] },
      { sample_id: 3, window_start_ms: 100, label: "up", int8: "down", scores_int8: [STEP, 255 * STEP] },
    ];
    const report = await runDeviceTest(test({ samples, studio }));
    expect(report.agreement).toBe(1);
    expect(report.scores).toEqual({
      windows: 2,
      differing: 0,
      max_abs_difference: 0,
      max_step_difference: 0,
      output_scale: STEP,
      output_zero_point: -128,
      first_differing: [],
    });
  });

  it("finds a window whose scores differ by one step and lists both score vectors", async () => {
    const samples = [{ id: 4, intervalMs: 100, values: [[1], [1], [1]] }];
    const studio = [
      { sample_id: 4, window_start_ms: 0, label: "up", int8: "up", scores_int8: [255 * STEP, STEP] },
      // The studio's int8 model put this window one step lower on "up" (and one higher on "down").
      { sample_id: 4, window_start_ms: 100, label: "up", int8: "up", scores_int8: [254 * STEP, 2 * STEP] },
    ];
    const report = await runDeviceTest(test({ samples, studio }));
    // Same labels, different scores: agreement alone would not show it.
    expect(report.agreement).toBe(1);
    expect(report.scores.windows).toBe(2);
    expect(report.scores.differing).toBe(1);
    expect(report.scores.max_step_difference).toBe(1);
    expect(report.scores.max_abs_difference).toBe(STEP);
    expect(report.scores.first_differing).toEqual([
      { sample_id: 4, sample_name: null, window_index: 1, window_start_ms: 100, studio: [254 * STEP, 2 * STEP], device: [255 * STEP, STEP] },
    ]);
  });

  it("compares a float output float for float when the firmware gives no quantization", async () => {
    const studio = [{ sample_id: 5, window_start_ms: 0, label: "up", int8: "up", scores_int8: [255 * STEP + 1e-7, STEP] }];
    const report = await runDeviceTest(test({ samples: [{ id: 5, intervalMs: 100, values: [[1], [1]] }], studio, output: null }));
    expect(report.scores.differing).toBe(1);
    expect(report.scores.max_step_difference).toBeNull();
    expect(report.scores.max_abs_difference).toBeCloseTo(1e-7, 12);
  });

  it("compares the device's anomaly scores with the anomaly run's", async () => {
    const anomalous = async (values: Float32Array) => ({ ...(await board(values)), anomaly: values[0] > 1 ? 0.9 : 0.2 });
    const samples = [{ id: 6, intervalMs: 100, values: [[1], [1], [5], [5]] }];
    const anomaly = {
      threshold: 0.5,
      windows: [
        { sample_id: 6, window_start_ms: 0, label: "up", score: 0.2000001 },
        { sample_id: 6, window_start_ms: 100, label: "up", score: 0.6 },
        { sample_id: 6, window_start_ms: 200, label: "up", score: 0.9 },
      ],
    };
    const report = await runDeviceTest(test({ samples, anomaly, classify: anomalous }));
    // Window 100 ms starts at a 1: the device scores 0.2 where the studio said 0.6.
    expect(report.anomaly).toMatchObject({ threshold: 0.5, windows: 3, device_anomalous: 1, studio_anomalous: 2 });
    expect(report.anomaly!.max_abs_difference).toBeCloseTo(0.4);
    expect(report.anomaly!.agreement).toBeCloseTo(2 / 3);
  });

  it("names class indices and reports windows the studio has no result for", async () => {
    const report = await runDeviceTest(
      test({ samples: [{ id: 5, intervalMs: 100, values: [[1], [1]] }], studio: [{ sample_id: 7, window_start_ms: 0, label: "up", int8: 0 }] }),
    );
    expect(report.disagreements).toEqual([{ sample_id: 5, window_start_ms: 0, label: null, device: "up", studio_int8: null, inference_us: 10 }]);
    const indexed = await runDeviceTest(
      test({ samples: [{ id: 7, intervalMs: 100, values: [[1], [1]] }], studio: [{ sample_id: 7, window_start_ms: 0, label: "up", int8: 0 }] }),
    );
    expect(indexed.agreement).toBe(1);
  });

  it("stops when cancelled and reports what was done", async () => {
    let calls = 0;
    const report = await runDeviceTest(
      test({ samples: [{ id: 1, intervalMs: 100, values: [[1], [1], [1], [1]] }], onProgress: () => (calls += 1), cancelled: () => calls >= 2 }),
    );
    expect(report.windows).toBe(2);
  });
});
