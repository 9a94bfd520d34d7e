import { describe, expect, it } from "vitest";
import { completeCurve, drawnSignal, emptyCurve, isDrawn, paintSegment, resampleEvenly } from "./drawnSignal";

describe("paintSegment", () => {
  it("fills every column between two pointer positions on the line joining them", () => {
    const curve = paintSegment(emptyCurve(5), { x: 0, y: 0 }, { x: 1, y: 1 });
    expect(curve).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });
  it("paints right to left, clamps to the drawing and replaces what was there", () => {
    let curve = paintSegment(emptyCurve(5), { x: 1.2, y: 2 }, { x: 0.5, y: 0 });
    expect(curve).toEqual([null, null, 0, 0.5, 1]);
    curve = paintSegment(curve, { x: 0.5, y: 0.9 }, { x: 0.5, y: 0.9 });
    expect(curve).toEqual([null, null, 0.9, 0.5, 1]);
  });
  it("leaves the curve it was given unchanged", () => {
    const curve = emptyCurve(3);
    paintSegment(curve, { x: 0, y: 1 }, { x: 1, y: 1 });
    expect(isDrawn(curve)).toBe(false);
  });
});

describe("completeCurve", () => {
  it("joins painted columns by straight lines and continues the ends", () => {
    expect(completeCurve([null, 0.2, null, null, 0.8, null])).toEqual([0.2, 0.2, 0.4, 0.6000000000000001, 0.8, 0.8]);
    expect(completeCurve(emptyCurve(4))).toBeNull();
  });
});

describe("resampleEvenly", () => {
  it("interpolates between evenly spaced points", () => {
    expect(resampleEvenly([0, 10], 5)).toEqual([0, 2.5, 5, 7.5, 10]);
    expect(resampleEvenly([0, 1, 2, 3, 4], 3)).toEqual([0, 2, 4]);
    expect(resampleEvenly([7], 2)).toEqual([7, 7]);
    expect(resampleEvenly([1, 2], 0)).toEqual([]);
  });
});

describe("drawnSignal", () => {
  it("gives readings x axes scaled to the range; an axis not drawn stays at 0", () => {
    const ramp = paintSegment(emptyCurve(11), { x: 0, y: 0 }, { x: 1, y: 1 });
    const values = drawnSignal([ramp, emptyCurve(11)], { readings: 3, min: -10, max: 10 });
    expect(values).toEqual([
      [-10, 0],
      [0, 0],
      [10, 0],
    ]);
  });
});
