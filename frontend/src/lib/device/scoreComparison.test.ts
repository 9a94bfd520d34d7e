import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compareScores, roundHalfEven, type ScoredWindow } from "./scoreComparison";

interface VectorCase {
  name: string;
  output_scale: number | null;
  output_zero_point: number | null;
  windows: { studio: number[]; device: (number | null)[] }[];
  expected?: Record<string, unknown> & { first_differing: number[] };
  refused?: string;
}

// The vectors the studio's compare_scores answers too (tests/backend/deployments/test_score_comparison_vectors.py).
const VECTORS = new URL("../../../../tests/data/score_comparison_vectors.json", import.meta.url);
const cases = (JSON.parse(readFileSync(VECTORS, "utf8")) as { cases: VectorCase[] }).cases;

const scored = (c: VectorCase): ScoredWindow[] =>
  c.windows.map((w, k) => ({ sample_id: k + 1, sample_name: null, window_index: k, window_start_ms: 100 * k, studio: w.studio, device: w.device }));

describe("compareScores answers the shared vectors", () => {
  it("reads every case", () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
  });
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    if (c.refused !== undefined) {
      expect(() => compareScores(scored(c), c.output_scale, c.output_zero_point)).toThrow(c.refused);
      return;
    }
    const compared = compareScores(scored(c), c.output_scale, c.output_zero_point);
    const { first_differing: firstDiffering, ...expected } = c.expected!;
    expect(compared.first_differing.map((w) => w.window_index)).toEqual(firstDiffering);
    expect(Object.fromEntries(Object.keys(expected).map((k) => [k, compared[k as keyof typeof compared]]))).toEqual(expected);
  });
});

describe("roundHalfEven", () => {
  it("rounds halves to the even neighbour, on both sides of zero, like numpy", () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, 0, -2, -2, 2, 3]);
    expect(roundHalfEven(NaN)).toBeNaN();
  });
});
