import { describe, expect, it } from "vitest";
import { describeRefusal, fileStatesFromAnswer, tally } from "./uploadResults";

describe("upload results", () => {
  it("maps a 207 answer to stored and refused files", () => {
    const states = fileStatesFromAnswer(["a.csv", "b.csv"], 207, {
      stored: 1,
      refused: 1,
      files: [
        { filename: "a.csv", stored: true, status: 201, sample: { id: 7, name: "a" } },
        { filename: "b.csv", stored: false, status: 422, error: "not a number", line: 3, field: "accX" },
      ],
    });
    expect(states.get("a.csv")).toEqual({ state: "stored", sampleId: 7, name: "a" });
    expect(states.get("b.csv")).toEqual({ state: "refused", message: 'not a number (line 3, field "accX")' });
    expect(tally(states.values())).toEqual({ stored: 1, refused: 1, pending: 0 });
  });
  it("gives every file the message of a whole-request error", () => {
    const states = fileStatesFromAnswer(["a.csv"], 413, { detail: { code: "too_large", message: "the upload is larger than 100 MB" } });
    expect(states.get("a.csv")).toEqual({ state: "refused", message: "the upload is larger than 100 MB" });
    const validation = fileStatesFromAnswer(["a.csv"], 422, { detail: [{ loc: ["body", "category"], msg: "Input should be 'training'" }] });
    expect(validation.get("a.csv")).toEqual({ state: "refused", message: "category: Input should be 'training'" });
    expect(fileStatesFromAnswer(["x"], 502, null).get("x")).toEqual({ state: "refused", message: "upload failed (HTTP 502)" });
  });
  it("marks files the server did not mention", () => {
    const states = fileStatesFromAnswer(["a.csv", "b.csv"], 201, { files: [{ filename: "a.csv", stored: true, status: 201 }] });
    expect(states.get("b.csv")).toEqual({ state: "refused", message: "no answer for this file" });
  });
  it("describes a refusal without a line or field", () => {
    expect(describeRefusal({ filename: "x", stored: false, status: 409 })).toBe("refused (HTTP 409)");
  });
});
