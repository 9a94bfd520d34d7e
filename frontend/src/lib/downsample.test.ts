import { describe, expect, it } from "vitest";
import { minMaxDownsample, niceTicks, valueRange, visibleSlice } from "./downsample";

describe("minMaxDownsample", () => {
  it("keeps short series untouched", () => {
    expect(minMaxDownsample([0, 1, 2], [5, 6, 7], 100)).toEqual({ t: [0, 1, 2], y: [5, 6, 7] });
  });
  it("bounds the point count and keeps spikes", () => {
    const t = Array.from({ length: 10_000 }, (_, i) => i);
    const y = t.map((i) => (i === 4321 ? 100 : i === 7000 ? -50 : Math.sin(i / 50)));
    const out = minMaxDownsample(t, y, 200);
    expect(out.t.length).toBeLessThanOrEqual(200);
    expect(Math.max(...out.y)).toBe(100);
    expect(Math.min(...out.y)).toBe(-50);
    // Time stays in order so the line does not zig-zag backwards.
    expect(out.t.every((v, i) => i === 0 || v > out.t[i - 1])).toBe(true);
  });
});

describe("ranges and ticks", () => {
  it("pads a flat signal and spans several series", () => {
    expect(valueRange([[2, 2]])).toEqual([1, 3]);
    expect(
      valueRange([
        [1, 5],
        [-2, 0],
      ]),
    ).toEqual([-2, 5]);
    expect(valueRange([])).toEqual([0, 1]);
  });
  it("chooses round ticks", () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(-0.3, 0.3, 3)).toEqual([-0.2, 0, 0.2]);
    // Whole numbers (epochs) are never labelled twice.
    expect(niceTicks(1, 4, 6, 1)).toEqual([1, 2, 3, 4]);
  });
  it("finds the visible slice with one point of margin", () => {
    expect(visibleSlice([0, 10, 20, 30, 40], 15, 25)).toEqual([1, 4]);
  });
});

import { formatTick } from "../components/LineChart";

describe("formatTick", () => {
  it("keeps tick labels short", () => {
    expect(formatTick(12000)).toBe("12k");
    expect(formatTick(-10000)).toBe("-10k");
    expect(formatTick(2500000)).toBe("2.5M");
    expect(formatTick(0.1 + 0.2)).toBe("0.3");
    expect(formatTick(-5)).toBe("-5");
  });
});
