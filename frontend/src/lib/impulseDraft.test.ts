import { describe, expect, it } from "vitest";
import {
  addBlock,
  asSpec,
  canonicalJson,
  draftErrors,
  draftFromSpec,
  MAX_BLOCKS,
  placeError,
  removeBlock,
  sameValue,
  specFromDraft,
  suggestBlock,
  updateBlock,
  type ImpulseSpec,
} from "./impulseDraft";

const SPEC: ImpulseSpec = {
  input: { window_ms: 2000, stride_ms: 1000, frequency_hz: 10, zero_pad: true, padding: "mean" },
  dsp: [
    { block: "spectral-analysis", params: { "fft-length": 16, "filter-type": "none" } },
    { block: "flatten", params: { average: true, rms: false } },
  ],
  learn: [
    { block: "classifier-dense", params: { epochs: 12, dense_layers: [20, 10] } },
    { block: "anomaly-kmeans", params: { clusters: 8 } },
  ],
};

describe("impulse drafts", () => {
  it("turns a spec into a draft and back unchanged", () => {
    const draft = draftFromSpec("Impulse 1", SPEC);
    expect(draft.name).toBe("Impulse 1");
    expect(draft.dsp.map((b) => b.id)).toEqual([1, 2]);
    expect(draft.learn.map((b) => b.id)).toEqual([3, 4]);
    expect(draft.nextId).toBe(5);
    expect(specFromDraft(draft)).toEqual(SPEC);
  });

  it("does not share parameter objects between the draft and the spec", () => {
    const draft = draftFromSpec("x", SPEC);
    draft.dsp[0].params["fft-length"] = 64;
    expect(SPEC.dsp[0].params["fft-length"]).toBe(16);
  });

  it("reads the loose JSON the API returns, filling what is missing", () => {
    const spec = asSpec({ input: { window_ms: 500 }, dsp: [{ block: "raw" }], learn: "nonsense" });
    expect(spec.input).toEqual({ window_ms: 500, stride_ms: 500, frequency_hz: 100, zero_pad: true, padding: "edge" });
    expect(asSpec({ input: { padding: "zero" } }).input.padding).toBe("zero");
    expect(asSpec({ input: { padding: "reflect" } }).input.padding).toBe("edge");
    expect(spec.dsp).toEqual([{ block: "raw", params: {} }]);
    expect(spec.learn).toEqual([]);
    expect(asSpec(null).dsp).toEqual([]);
  });

  it("adds blocks with fresh ids, up to the API's limit", () => {
    let draft = draftFromSpec("x", SPEC);
    draft = addBlock(draft, "learn", { block: "regression", params: { epochs: 5 } });
    expect(draft.learn.map((b) => [b.id, b.block])).toEqual([
      [3, "classifier-dense"],
      [4, "anomaly-kmeans"],
      [5, "regression"],
    ]);
    draft = addBlock(draft, "learn", { block: "regression", params: {} });
    expect(draft.learn).toHaveLength(MAX_BLOCKS.learn);
    expect(addBlock(draft, "learn", { block: "regression", params: {} })).toBe(draft);
  });

  it("removes a block by id but keeps the last one of a list", () => {
    const draft = draftFromSpec("x", SPEC);
    const fewer = removeBlock(draft, "dsp", 1);
    expect(fewer.dsp.map((b) => b.block)).toEqual(["flatten"]);
    expect(removeBlock(fewer, "dsp", 2)).toBe(fewer);
  });

  it("replaces one block, leaving the others alone", () => {
    const draft = draftFromSpec("x", SPEC);
    const next = updateBlock(draft, "dsp", 2, { block: "raw", params: { "scale-axes": 2 } });
    expect(next.dsp[1]).toEqual({ id: 2, block: "raw", params: { "scale-axes": 2 } });
    expect(next.dsp[0]).toBe(draft.dsp[0]);
  });

  it("compares values whatever their key order", () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('{"a":[1,{"c":3,"d":2}],"b":1}');
    expect(sameValue({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(sameValue({ a: 1 }, { a: 1, b: undefined })).toBe(true);
    expect(sameValue([1, 2], [2, 1])).toBe(false);
  });
});

describe("placing save errors", () => {
  it("places a block parameter error on that block's field", () => {
    expect(placeError("dsp[1].params.filter-cutoff", "dsp[1].params.filter-cutoff: must be below half the sampling frequency")).toEqual({
      section: "dsp",
      index: 1,
      property: "filter-cutoff",
      message: "must be below half the sampling frequency",
    });
  });

  it("places an unknown block on the block's drop-down", () => {
    expect(placeError("learn[0].block", "learn[0].block: unknown learning block 'x'")).toEqual({
      section: "learn",
      index: 0,
      property: "block",
      message: "unknown learning block 'x'",
    });
  });

  it("shows a nested setting on its top-level field, naming the inner key", () => {
    const place = placeError("learn[0].params.augmentation.noise", "learn[0].params.augmentation.noise: must be at most 1");
    expect(place).toMatchObject({ section: "learn", index: 0, property: "augmentation", message: "noise: must be at most 1" });
  });

  it("places input errors and leaves the rest to the general message", () => {
    expect(placeError("input.window_ms", "input.window_ms: too long")).toMatchObject({ section: "input", property: "window_ms", message: "too long" });
    expect(placeError(null, "boom")).toEqual({ section: null, index: null, property: null, message: "boom" });
    expect(placeError("dsp", "dsp: too many")).toMatchObject({ section: null, message: "too many" });
  });

  it("finds the block a spec index means in the draft", () => {
    let draft = draftFromSpec("x", SPEC);
    draft = removeBlock(draft, "dsp", 1);
    draft = addBlock(draft, "dsp", { block: "spectral-analysis", params: {} });
    // The spec now holds flatten (id 2) then the new spectral block (id 5).
    expect(draftErrors(draft, "dsp[1].params.fft-length", "dsp[1].params.fft-length: must be a power of two")).toEqual({
      input: {},
      blocks: { 5: { "fft-length": "must be a power of two" } },
    });
    expect(draftErrors(draft, "input.stride_ms", "input.stride_ms: too long").input).toEqual({ stride_ms: "too long" });
    expect(draftErrors(draft, "dsp[7].block", "dsp[7].block: no")).toEqual({ input: {}, blocks: {} });
  });
});

describe("suggesting a block to add", () => {
  const dsp = ["raw", "flatten", "spectral-analysis", "mfcc"];
  it("suggests a usual companion that is not used yet", () => {
    expect(suggestBlock("dsp", ["spectral-analysis"], dsp)).toBe("flatten");
    expect(suggestBlock("dsp", ["flatten"], dsp)).toBe("spectral-analysis");
    expect(suggestBlock("learn", ["classifier-dense"], ["classifier-dense", "anomaly-kmeans"])).toBe("anomaly-kmeans");
  });
  it("falls back to any unused block, then to the first", () => {
    expect(suggestBlock("dsp", ["flatten", "spectral-analysis"], dsp)).toBe("raw");
    expect(suggestBlock("dsp", dsp, dsp)).toBe("raw");
    expect(suggestBlock("learn", [], [])).toBeNull();
  });
});
