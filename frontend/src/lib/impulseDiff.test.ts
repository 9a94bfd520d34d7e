import { describe, expect, it } from "vitest";
import { describeChange, diffSpecs, formatValue, summarizeSpec, type DiffLabels } from "./impulseDiff";
import type { ImpulseSpec } from "./impulseDraft";

const BASE: ImpulseSpec = {
  input: { window_ms: 2000, stride_ms: 1000, frequency_hz: 10, zero_pad: true, padding: "edge" },
  dsp: [{ block: "spectral-analysis", params: { "fft-length": 16, "filter-type": "none" } }],
  learn: [{ block: "classifier-dense", params: { epochs: 12, dense_layers: [20, 10] } }],
};

function edit(change: (spec: ImpulseSpec) => void): ImpulseSpec {
  const copy = structuredClone(BASE);
  change(copy);
  return copy;
}

const LABELS: DiffLabels = {
  blockTitle: (_section, block) =>
    ({ "spectral-analysis": "Spectral analysis", flatten: "Flatten", "classifier-dense": "Classification (dense)" })[block] ?? block,
  paramLabel: (_section, _block, property) => ({ epochs: "Training cycles", "fft-length": "FFT length" })[property] ?? property,
};

describe("impulse diffs", () => {
  it("finds nothing between equal specs, whatever the key order", () => {
    const reordered = edit((s) => {
      s.dsp[0].params = { "filter-type": "none", "fft-length": 16 };
    });
    expect(diffSpecs(BASE, reordered)).toEqual([]);
  });

  it("lists changed input settings and parameters, from and to", () => {
    const after = edit((s) => {
      s.input.window_ms = 1000;
      s.dsp[0].params["fft-length"] = 32;
      s.learn[0].params.dense_layers = [40];
    });
    expect(diffSpecs(BASE, after)).toEqual([
      { kind: "input", property: "window_ms", from: 2000, to: 1000 },
      { kind: "param", section: "dsp", index: 0, block: "spectral-analysis", property: "fft-length", from: 16, to: 32 },
      { kind: "param", section: "learn", index: 0, block: "classifier-dense", property: "dense_layers", from: [20, 10], to: [40] },
    ]);
  });

  it("lists parameters that appear or disappear", () => {
    const after = edit((s) => {
      delete s.learn[0].params.epochs;
      s.learn[0].params.dropout = 0.25;
    });
    expect(diffSpecs(BASE, after)).toEqual([
      { kind: "param", section: "learn", index: 0, block: "classifier-dense", property: "epochs", from: 12, to: undefined },
      { kind: "param", section: "learn", index: 0, block: "classifier-dense", property: "dropout", from: undefined, to: 0.25 },
    ]);
  });

  it("sees added and removed blocks", () => {
    const added = edit((s) => {
      s.dsp.push({ block: "flatten", params: { average: true } });
      s.learn.push({ block: "anomaly-kmeans", params: { clusters: 8 } });
    });
    expect(diffSpecs(BASE, added)).toEqual([
      { kind: "added", section: "dsp", index: 1, block: { block: "flatten", params: { average: true } } },
      { kind: "added", section: "learn", index: 1, block: { block: "anomaly-kmeans", params: { clusters: 8 } } },
    ]);
    expect(diffSpecs(added, BASE)).toEqual([
      { kind: "removed", section: "dsp", index: 1, block: { block: "flatten", params: { average: true } } },
      { kind: "removed", section: "learn", index: 1, block: { block: "anomaly-kmeans", params: { clusters: 8 } } },
    ]);
  });

  it("reads a block swapped for another in place as a replacement", () => {
    const after = edit((s) => {
      s.dsp[0] = { block: "flatten", params: { average: true } };
    });
    expect(diffSpecs(BASE, after)).toEqual([
      { kind: "replaced", section: "dsp", index: 0, from: BASE.dsp[0], to: { block: "flatten", params: { average: true } } },
    ]);
  });

  it("follows a block that moved when one before it was removed", () => {
    const before = edit((s) => {
      s.dsp.unshift({ block: "flatten", params: { average: true } });
    });
    const after = edit((s) => {
      s.dsp[0].params["fft-length"] = 64;
    });
    expect(diffSpecs(before, after)).toEqual([
      { kind: "removed", section: "dsp", index: 0, block: { block: "flatten", params: { average: true } } },
      { kind: "param", section: "dsp", index: 0, block: "spectral-analysis", property: "fft-length", from: 16, to: 64 },
    ]);
  });

  it("pairs the unchanged one of two blocks of the same kind", () => {
    const a = { block: "spectral-analysis", params: { "fft-length": 16 } };
    const b = { block: "spectral-analysis", params: { "fft-length": 128 } };
    const before = edit((s) => {
      s.dsp = [a, b];
    });
    const after = edit((s) => {
      s.dsp = [b];
    });
    expect(diffSpecs(before, after)).toEqual([{ kind: "removed", section: "dsp", index: 0, block: a }]);
  });
});

describe("describing changes", () => {
  it("formats values the way the forms show them", () => {
    expect(formatValue([20, 10])).toBe("20, 10");
    expect(formatValue([])).toBe("none");
    expect(formatValue(true)).toBe("on");
    expect(formatValue(false)).toBe("off");
    expect(formatValue(undefined)).toBe("unset");
    expect(formatValue(null)).toBe("auto");
    expect(formatValue({ noise: 0.1 })).toBe('{"noise":0.1}');
    expect(formatValue(0.25)).toBe("0.25");
  });

  it("names blocks by their place and title, parameters by their label", () => {
    expect(describeChange({ kind: "param", section: "learn", index: 0, block: "classifier-dense", property: "epochs", from: 12, to: 15 }, LABELS)).toEqual({
      where: "Learning block 1 · Classification (dense)",
      what: "Training cycles",
      from: "12",
      to: "15",
    });
    expect(describeChange({ kind: "input", property: "zero_pad", from: true, to: false }, LABELS)).toEqual({
      where: "Input",
      what: "Pad short samples",
      from: "on",
      to: "off",
    });
    expect(describeChange({ kind: "added", section: "dsp", index: 1, block: { block: "flatten", params: { average: true } } }, LABELS)).toEqual({
      where: "Processing block 2 · Flatten",
      what: "added (average on)",
    });
    expect(describeChange({ kind: "removed", section: "dsp", index: 1, block: { block: "flatten", params: {} } }, LABELS)).toEqual({
      where: "Processing block 2 · Flatten",
      what: "removed",
    });
    expect(describeChange({ kind: "replaced", section: "dsp", index: 0, from: BASE.dsp[0], to: { block: "flatten", params: {} } }, LABELS)).toEqual({
      where: "Processing block 1",
      what: "block",
      from: "Spectral analysis",
      to: "Flatten",
    });
  });
});

describe("summarizing a first version", () => {
  it("lists the input settings and every block with its settings", () => {
    expect(summarizeSpec(BASE, LABELS)).toEqual([
      { where: "Input", what: "Window size (ms) 2000, Window increase (ms) 1000, Frequency (Hz) 10, Pad short samples on, Padding edge" },
      { where: "Processing block 1 · Spectral analysis", what: "FFT length 16, filter-type none" },
      { where: "Learning block 1 · Classification (dense)", what: "Training cycles 12, dense_layers 20, 10" },
    ]);
  });
});
