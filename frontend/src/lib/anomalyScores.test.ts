import { describe, expect, it } from "vitest";
import { labelSummaries, scoreHistogram } from "./anomalyScores";

const windows = [
  { label: "idle", score: -1 },
  { label: "idle", score: -0.5 },
  { label: "shake", score: 2 },
  { label: "shake", score: 3 },
  { label: null, score: 0.5 },
  { label: "idle" },
];

describe("anomaly scores", () => {
  it("bins normal and other windows apart over the scores and the threshold", () => {
    const h = scoreHistogram(windows, ["idle"], 0, 4);
    expect(h.edges).toEqual([-1, 0, 1, 2, 3]);
    expect(h.normal).toEqual([2, 0, 0, 0]);
    expect(h.other).toEqual([0, 1, 0, 2]);
  });

  it("widens a range of one value so every window lands in a bin", () => {
    const h = scoreHistogram([{ label: "a", score: 1 }], ["a"], 1, 2);
    expect(h.edges).toEqual([0.5, 1, 1.5]);
    expect(h.normal).toEqual([0, 1]);
  });

  it("summarises each label, normal ones first", () => {
    expect(labelSummaries(windows, ["idle"], 0)).toEqual([
      { label: "idle", normal: true, windows: 2, meanScore: -0.75, flagged: 0 },
      { label: "(unlabelled)", normal: false, windows: 1, meanScore: 0.5, flagged: 1 },
      { label: "shake", normal: false, windows: 2, meanScore: 2.5, flagged: 2 },
    ]);
  });
});
