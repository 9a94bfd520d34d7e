import { describe, expect, it } from "vitest";
import { cutWindows, resample } from "./windows";

const INPUT = { window_ms: 2000, stride_ms: 1000, frequency_hz: 10, zero_pad: true };

describe("cutWindows", () => {
  it("cuts time-major windows every stride at the impulse rate", () => {
    // 35 readings at 10 Hz, two axes: reading i holds (i, -i).
    const values = Array.from({ length: 35 }, (_, i) => [i, -i]);
    const windows = cutWindows(values, 100, INPUT);
    expect(windows.map((w) => w.startMs)).toEqual([0, 1000]);
    expect(windows[1].values.length).toBe(40);
    expect(Array.from(windows[1].values.slice(0, 4))).toEqual([10, -10, 11, -11]);
  });
  it("resamples a faster sample linearly before cutting", () => {
    // 20 Hz ramp → 10 Hz keeps every other reading.
    const values = Array.from({ length: 41 }, (_, i) => [i]);
    expect(resample(values, 50, 10).map((r) => r[0])).toEqual(Array.from({ length: 21 }, (_, i) => 2 * i));
    // 5 Hz → 10 Hz interpolates halfway points.
    expect(resample([[0], [1], [2]], 200, 10).map((r) => r[0])).toEqual([0, 0.5, 1, 1.5, 2]);
  });
  it("pads a short sample into one window only when asked, as the impulse says", () => {
    const short = [[1], [2], [6]];
    const padded = cutWindows(short, 100, INPUT);
    expect(padded).toHaveLength(1);
    expect(Array.from(padded[0].values)).toEqual([1, 2, 6, ...Array(17).fill(6)]);
    const fill = (padding: "edge" | "mean" | "zero") => Array.from(cutWindows(short, 100, { ...INPUT, padding })[0].values.slice(3));
    expect(fill("edge")).toEqual(Array(17).fill(6));
    expect(fill("mean")).toEqual(Array(17).fill(3));
    expect(fill("zero")).toEqual(Array(17).fill(0));
    expect(cutWindows(short, 100, { ...INPUT, zero_pad: false })).toEqual([]);
  });
});
