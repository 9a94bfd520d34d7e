import { describe, expect, it } from "vitest";
import type { Classification } from "./device";
import { runDeviceTest } from "./deviceTest";

const INPUT = { window_ms: 200, stride_ms: 100, frequency_hz: 10, zero_pad: false };

/** A "model" that says up when the window's values sum above zero. */
async function board(values: Float32Array): Promise<Classification> {
  const up = values.reduce((a, b) => a + b, 0) > 0;
  return { label: up ? "up" : "down", label_index: up ? 0 : 1, scores: up ? [1, 0] : [0, 1], anomaly: null, dsp_us: 3, inference_us: up ? 10 : 30 };
}

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
    const report = await runDeviceTest(samples, studio, INPUT, ["up", "down"], board, (done) => progress.push(done));
    expect(progress).toEqual([1, 2, 3]);
    expect(report.windows).toBe(3);
    // Window 1@100 ms sums to -7: the device says down where the studio said up.
    expect(report.disagreements.map((d) => [d.sample_id, d.window_start_ms, d.device, d.studio_int8])).toEqual([[1, 100, "down", "up"]]);
    expect(report.agreement).toBeCloseTo(2 / 3);
    expect(report.device_accuracy).toBeCloseTo(1 / 3);
    expect(report.studio_int8_accuracy).toBeCloseTo(2 / 3);
    expect(report.confusion_matrix).toEqual([[1, 2], [0, 0]]);
    expect(report.mean_inference_us).toBeCloseTo((10 + 30 + 30) / 3);
  });
  it("names class indices and reports windows the studio has no result for", async () => {
    const report = await runDeviceTest([{ id: 5, intervalMs: 100, values: [[1], [1]] }], [{ sample_id: 7, window_start_ms: 0, label: "up", int8: 0 }], INPUT, ["up", "down"], board);
    expect(report.disagreements).toEqual([{ sample_id: 5, window_start_ms: 0, label: null, device: "up", studio_int8: null, inference_us: 10 }]);
    const indexed = await runDeviceTest([{ id: 7, intervalMs: 100, values: [[1], [1]] }], [{ sample_id: 7, window_start_ms: 0, label: "up", int8: 0 }], INPUT, ["up", "down"], board);
    expect(indexed.agreement).toBe(1);
  });
  it("stops when cancelled and reports what was done", async () => {
    let calls = 0;
    const report = await runDeviceTest([{ id: 1, intervalMs: 100, values: [[1], [1], [1], [1]] }], [], INPUT, ["up", "down"], board, () => (calls += 1), () => calls >= 2);
    expect(report.windows).toBe(2);
  });
});
