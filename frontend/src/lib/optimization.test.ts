import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compareRows, isOptimized, needsBaseline, optimizationName, type DeviceModel } from "./optimization";

// The vectors workers.learn.optimize answers too (tests/workers/learn/test_optimization_vectors.py).
const VECTORS = new URL("../../../tests/data/optimization_vectors.json", import.meta.url);
const vectors = (JSON.parse(readFileSync(VECTORS, "utf8")) as { vectors: { params: Record<string, unknown>; optimized: boolean; needs_baseline: boolean }[] })
  .vectors;

const model = (scale: number): DeviceModel => ({
  macs: 10000 * scale,
  arena_bytes: 2000 * scale,
  weights_bytes: 4000 * scale,
  tflite_bytes: 6000 * scale,
  zipped_bytes: 3000 * scale,
  ram_bytes: 3000 * scale,
  flash_bytes: 20000 * scale,
  latency_ms: 2 * scale,
  instructions: 50000 * scale,
  model_instructions: 40000 * scale,
});

describe("which settings ask for an optimized run", () => {
  it.each(vectors.map((v) => [JSON.stringify(v.params), v] as const))("%s", (_name, v) => {
    expect(isOptimized(v.params)).toBe(v.optimized);
    expect(needsBaseline(v.params)).toBe(v.needs_baseline);
  });
});

describe("optimizationName", () => {
  it("names every step in the order they run", () => {
    expect(optimizationName({ optimization: { distillation: true, pruning: "structured", sparsity: 0.5, qat: true } })).toBe(
      "distilled + structured pruning 50 % + QAT",
    );
    expect(optimizationName({ optimization: { pruning: "none" } })).toBe("");
  });
});

describe("compareRows", () => {
  it("gives accuracy changes in points and device figures as relative changes, lower being better", () => {
    const rows = compareRows(
      { float32: 0.95, int8: 0.94 },
      { float32: 0.93, int8: 0.945 },
      { board_id: "virtual-cortex-m4", baseline: model(1), optimized: model(0.5) },
    );
    const by = Object.fromEntries(rows.map((r) => [r.figure, r]));
    expect(by["int8 test accuracy"]).toMatchObject({ baseline: "94.0 %", optimized: "94.5 %", delta: "+0.5 points", better: true });
    expect(by["float32 test accuracy"]).toMatchObject({ delta: "−2.0 points", better: false });
    expect(by["MACs per window"]).toMatchObject({ baseline: "10,000", optimized: "5,000", delta: "−50.0 %", better: true });
    expect(by["flash (impulse)"]).toMatchObject({ baseline: "20,000 B", delta: "−50.0 %" });
  });
  it("shows dashes where the device could not be measured", () => {
    const rows = compareRows({ int8: 0.9 }, { int8: 0.9 }, { board_id: "x", error: "too large" });
    const macs = rows.find((r) => r.figure === "MACs per window")!;
    expect(macs).toMatchObject({ baseline: "—", optimized: "—", delta: "—", better: null });
    expect(rows.find((r) => r.figure === "int8 test accuracy")!.delta).toBe("0 points");
  });
});
